// The route and connect phases: where a request's connection goes (its origin or the
// parent proxy, upstream/route), and which connection carries it — this client's pinned one,
// an idle one from the pool, or a new one — and what becomes of it afterwards.
#include "proxy/exchange.h"

#include "http/head_parser.h"
#include "observe/counter.h"
#include "upstream/parent_tls.h"

#include <fmt/format.h>

namespace ferry::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

bool bound_scheme(std::string_view value) {
    auto scheme = value.substr(0, value.find(' '));
    return http::iequals(scheme, "NTLM") || http::iequals(scheme, "Negotiate");
}

} // namespace

void exchange::drop_upstream() {
    if (!client_.upstream) return;
    rec_.upstream_fate = observe::exchange_record::fate::closed;
    client_.upstream.reset();
}

void exchange::release_upstream(bool reusable) {
    if (!client_.upstream) return;
    if (!reusable || draining()) {
        drop_upstream();
        return;
    }
    ++up().exchanges;
    rec_.upstream_fate = observe::exchange_record::fate::kept;
    if (up().pinned) return; // stays with this client (connection-bound authentication)
    if (!ctx_.pool().put(std::move(client_.upstream), ctx_.now()))
        rec_.upstream_fate = observe::exchange_record::fate::closed; // no pool
    client_.upstream.reset();
}

bool exchange::connection_bound_auth() const {
    for (const auto& f : req_.fields)
        if (http::iequals(f.name, "authorization") && bound_scheme(f.value)) return true;
    if (resp_.status == 401)
        for (const auto& f : resp_.fields)
            if (http::iequals(f.name, "www-authenticate") && bound_scheme(f.value)) return true;
    return false;
}

bool exchange::origin_keeps_alive() const {
    if (http::has_option(resp_, "connection", "close")) return false;
    if (resp_.minor == 0) return http::has_option(resp_, "connection", "keep-alive");
    return true;
}

void exchange::note_upstream(const upstream::route& where) {
    rec_.upstream = up().label;
    rec_.upstream_address = up().address;
    rec_.upstream_parent = where.parent;
}

bool exchange::pooled_still_allowed(const upstream::route& where, const upstream::connection& c) {
    if (!egress_checked(where)) return true;
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(c.address, ec);
    return !ec && egress_refusal(where, a, nullptr).empty();
}

upstream::connect_request exchange::connect_request_for(const upstream::route& where,
                                                        egress_tally& tally) {
    const auto self = ctx_.self();
    upstream::connect_request request;
    request.host = where.host;
    request.port = where.port;
    request.timeout = settings().connect_timeout;
    request.is_self = [self](const tcp::endpoint& ep) { return is_self_endpoint(ep, self); };
    request.attempt_timeout = settings().connect_attempt_timeout;
    request.happy_eyeballs_delay = settings().happy_eyeballs_delay;
    // The one egress check, on every address a direct connection may go to, before any
    // attempt: the access rules with the address (a name cannot reach a range an IP literal
    // could not) and safe destinations. A parent is trusted: it resolves the names itself.
    if (egress_checked(where))
        request.denied = [this, &where, &tally](const asio::ip::address& a) {
            return egress_refusal(where, a, &tally);
        };
    return request;
}

asio::awaitable<error> exchange::open_upstream(const upstream::route& where, upstream_choice choice,
                                               bool& reused) {
    rec_.upstream_new = false;
    if (auto refused = parent_literal_refusal(where); !refused.empty())
        co_return error{errc::forbidden, std::move(refused)};
    // A connection pinned to this client by connection-bound authentication serves its next
    // requests to the same place (a retry or a tunnel excepted); it is never shared. Judged
    // again like a pooled one: a reload or another user on this client connection may have
    // closed the address to it.
    if (client_.upstream && up().pinned && choice != upstream_choice::fresh &&
        up().key == where.key && up().still_usable() && pooled_still_allowed(where, up())) {
        reused = true;
        note_upstream(where);
        co_return error{};
    }
    drop_upstream();
    if (choice == upstream_choice::any) {
        auto pooled = ctx_.pool().take(where.key);
        // A TLS connection verified against CAs a reload has replaced since is not reused.
        if (pooled && where.tls && !upstream::under_current_context(*pooled, ctx_.parent_tls()))
            pooled.reset();
        // Pooled under another client's request: judged again for this one. Refused, it is
        // closed: put back it would count as idle from now and go to the front of the pool,
        // so refused clients would keep it alive for ever (an allowed client opens a new one).
        if (pooled && !pooled_still_allowed(where, *pooled)) pooled.reset();
        if (pooled) {
            client_.upstream = std::move(pooled);
            reused = true;
            note_upstream(where);
            co_return error{};
        }
    }
    client_.upstream = ctx_.new_connection();
    egress_tally tally;
    const auto request = connect_request_for(where, tally);
    const auto started = ctx_.now();
    auto e = co_await ctx_.connect(up(), request);
    if (e) {
        client_.upstream.reset();
        if (e.code == errc::forbidden) count_refusal(tally);
        if (where.parent && e.code == errc::loop_detected) // a misconfiguration, not a bad request
            e = error{errc::connect_failed,
                      fmt::format("ferry: parent proxy {} is this proxy itself",
                                  upstream::host_port_label(where.host, where.port))};
        else if (where.parent) // name the parent: the client asked for another host
            e.cause = fmt::format(
                "ferry: parent proxy {}: {}", upstream::host_port_label(where.host, where.port),
                std::string_view(e.cause).substr(std::string_view("ferry: ").size()));
        co_return e;
    }
    // TLS to the parent: the handshake within what is left of the connect timeout.
    if (where.tls) {
        e = co_await upstream::start_tls(up(), ctx_.parent_tls(), where, ctx_.deadlines(),
                                         started + request.timeout);
        if (e) {
            client_.upstream.reset();
            co_return e;
        }
    }
    ctx_.pool().note_opened();
    up().key = where.key;
    up().label = where.label;
    note_upstream(where);
    rec_.upstream_new = true;
    co_return error{};
}

} // namespace ferry::proxy

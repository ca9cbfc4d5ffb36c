// The forward phase: one request relayed to its origin and the response relayed back. With
// a request body both directions run at once, so an origin that answers early (or sends 100
// Continue) never deadlocks against a client that waits for it.
#include "proxy/exchange.h"

#include "http/head_parser.h"
#include "http/relay.h"
#include "http/response_plan.h"
#include "http/rewrite.h"
#include "http/upgrade.h"
#include "policy/host_match.h"
#include "proxy/causes.h"

#include <arpa/inet.h>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

namespace ferry::proxy {

namespace asio = boost::asio;

namespace {

http::forwarded_for_mode forwarded_for_mode(std::string_view setting) {
    using mode = http::forwarded_for_mode;
    if (setting == "off") return mode::off;
    if (setting == "truncate") return mode::truncate;
    if (setting == "delete") return mode::remove;
    return mode::on;
}

// An address as X-Forwarded-For and Forwarded write it (IPv4 without the mapped prefix),
// into `buffer`: nothing allocated on the request's path.
std::string_view ip_text(asio::ip::address a, std::array<char, INET6_ADDRSTRLEN>& buffer) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    const char* text = nullptr;
    if (a.is_v4()) {
        const auto bytes = a.to_v4().to_bytes();
        text = ::inet_ntop(AF_INET, bytes.data(), buffer.data(), buffer.size());
    } else {
        const auto bytes = a.to_v6().to_bytes();
        text = ::inet_ntop(AF_INET6, bytes.data(), buffer.data(), buffer.size());
    }
    return text ? std::string_view(text) : std::string_view();
}

bool is_idempotent(std::string_view method) {
    // RFC 9110 §9.2.2; only these may be retried automatically.
    for (auto m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
        if (method == m) return true;
    return false;
}

} // namespace

// Only an offer ferry passed on can be accepted, and only with a protocol the client named
// (RFC 9110 §7.8); the caller turns it into a tunnel.
error exchange::switch_problem(bool offered, std::string_view label) const {
    if (!offered)
        return {errc::bad_response,
                fmt::format("ferry: unexpected 101 Switching Protocols from {}", label)};
    if (!http::switch_was_offered(req_, resp_))
        return {errc::bad_response,
                fmt::format("ferry: {} switched to a protocol the client did not offer "
                            "(Upgrade: {})",
                            label, http::find_field(resp_, "upgrade"))};
    return {};
}

// A write to the client failed: it closed (or reset), or it left ferry's writes unread for
// --send-timeout. (ferry's own shutdown closing it is named in the log phase.)
error exchange::client_write_problem(const net::error_code& ec, std::string_view what) const {
    if (ec == asio::error::timed_out)
        return {errc::client_timeout, causes::client_not_reading(settings().send_timeout, what)};
    return {errc::client_closed, causes::client_closed(what)};
}

void exchange::write_upstream_head(const upstream::route& where, const http::target& dest,
                                   const http::framing_fields& fields) {
    const auto& cfg = settings();
    http::request_options options;
    options.via = via_name();
    options.forwarded_for = forwarded_for_mode(cfg.forwarded_for);
    options.forwarded = cfg.forwarded;
    std::array<char, INET6_ADDRSTRLEN> client_ip{}, local_ip{};
    options.client = ip_text(client_.address, client_ip);
    options.trusted = std::any_of(
        cfg.trusted_forwarders.begin(), cfg.trusted_forwarders.end(),
        [&](const config::direct_rule& r) { return policy::matches(r, options.client); });
    if (cfg.forwarded && client_.local.port() != 0) {
        options.by = ip_text(client_.local.address(), local_ip);
        options.by_port = client_.local.port();
    }
    options.loop_token = ctx_.loop_token();
    store_.request_out.clear();
    upstream::write_request_head(where, req_, dest, fields, options,
                                 where.parent ? cfg.parent->authorization : std::string_view(),
                                 store_.request_out);
}

asio::awaitable<next> exchange::forward(const http::target& dest,
                                        const http::body_framing& framing) {
    using namespace asio::experimental::awaitable_operators;
    const bool has_body = framing.kind == http::body_kind::chunked ||
                          (framing.kind == http::body_kind::length && framing.length > 0);
    http::framing_fields fields;
    if (framing.kind == http::body_kind::length) fields.content_length = framing.length;
    if (framing.kind == http::body_kind::chunked) fields.chunked = true;
    const auto& cfg = settings();
    const auto where = upstream::route_for(cfg, dest.where.host, dest.where.port);
    write_upstream_head(where, dest, fields);
    const bool upgrade = http::forwards_upgrade(req_, has_body);

    // A request that could not be retried (not idempotent, or with a body ferry streams and
    // does not keep) never goes on an idle pooled connection: the origin may be closing it at
    // this very moment, and the request would be lost (Squid's default does the same). It
    // gets a fresh connection, which goes to the pool afterwards like any other.
    const bool retriable = !has_body && is_idempotent(req_.method);
    for (int attempt = 0;; ++attempt) {
        bool reused = false;
        // A retry goes on a fresh connection, never on another pooled one.
        auto choice = attempt > 0 ? upstream_choice::fresh
                      : retriable ? upstream_choice::any
                                  : upstream_choice::not_pooled;
        if (auto e = co_await open_upstream(where, choice, reused))
            co_return co_await fail(e, has_body); // an unread body: close after

        relay_state st;
        st.has_body = has_body;
        st.upgrade = upgrade;
        st.via_parent = where.parent;
        if (has_body) {
            co_await (send_request(framing, st) && relay_response(st));
        } else {
            co_await send_request(framing, st);
            if (!st.problem) co_await relay_response(st);
        }

        // A reused connection the origin closed as we sent: safe to try once more on a new
        // one, but only for an idempotent request without body (RFC 9110 §9.2.2).
        if (st.retryable && reused && retriable && attempt == 0 && !draining() &&
            client_.stream.is_open()) {
            rec_.retried_after = up().label;
            drop_upstream();
            continue;
        }
        // NTLM and Negotiate authenticate the connection, not the request (RFC 4559): a
        // connection that carried them must never serve another client.
        if (client_.upstream && connection_bound_auth()) up().pinned = true;
        // The origin switched protocols: the connection is a tunnel until it ends, and
        // neither it nor the client connection carries HTTP again.
        if (st.switched) co_return co_await relay_tunnel();
        const bool body_done = !has_body || st.body_sent;
        // Part of the request body never went out: the connection is reset, not closed, so
        // that the origin learns at once, even one that stopped reading (upstream/connection.h).
        if (client_.upstream && !body_done) up().abort();
        release_upstream(st.upstream_reusable && st.response_complete && body_done);

        if (st.problem && !st.response_started) co_return co_await fail(st.problem, true);
        if (st.problem) rec_.cause = st.problem.cause;
        const bool keep = st.response_complete && !st.close_client && !st.client_failed &&
                          body_done && !draining();
        co_return keep ? next::keep_alive : next::close;
    }
}

asio::awaitable<void> exchange::send_request(const http::body_framing& framing, relay_state& st) {
    const auto& cfg = settings();
    if (!st.has_body) {
        const auto ec = co_await upstream::send_head(up(), store_.request_out, cfg.send_timeout);
        auto sent = upstream::send_outcome(up(), ec);
        st.problem = std::move(sent.problem);
        st.retryable = sent.retryable;
        st.body_sent = !sent.problem;
        co_return;
    }
    st.body_running = true;
    // The response is not late while the body is still on its way: the upload has deadlines
    // of its own (client read, upstream write).
    up().stream->reading.held = true;
    auto coding = framing.kind == http::body_kind::chunked ? http::output_coding::chunked
                                                           : http::output_coding::identity;
    const http::relay_timeouts timeouts{cfg.idle_timeout, cfg.send_timeout, cfg.splice};
    auto outcome =
        co_await http::relay_body(client_in(), upstream_out(), framing, coding, store_.request_out,
                                  timeouts, store_.request_decoder, &st.abandoned);
    st.body_running = false;
    up().stream->reading.held = false;
    rec_.bytes_from_client += outcome.bytes_read;
    if (st.abandoned) co_return; // the response is complete: the rest of the body is not needed
    switch (outcome.status) {
    case http::relay_status::complete:
        st.body_sent = true;
        break;
    case http::relay_status::read_failed:
        st.client_failed = true;
        if (outcome.error == asio::error::timed_out)
            st.problem = {errc::client_timeout, causes::client_stalled_body(cfg.idle_timeout)};
        else
            st.problem = {errc::client_closed, causes::client_closed("request body")};
        up().stream->reading.cancel(); // stop waiting for a response nobody will read
        break;
    case http::relay_status::bad_framing:
        st.client_failed = true;
        st.problem = {errc::bad_request, fmt::format("ferry: invalid chunked request body: {}",
                                                     http::describe(outcome.chunk))};
        up().stream->reading.cancel();
        break;
    case http::relay_status::write_failed:
        // The origin stopped reading; it may still answer (413, say): the response side
        // decides what the client gets.
        break;
    }
}

asio::awaitable<bool> exchange::read_final_response(relay_state& st) {
    const auto& cfg = settings();
    constexpr int max_interim = 16; // an origin cannot hold a client with endless 1xx
    for (int interim = 0;; ++interim) {
        if (interim == max_interim) {
            st.problem = {errc::bad_response,
                          fmt::format("ferry: {} sent too many 1xx responses", up().label)};
            co_return false;
        }
        const auto read = co_await upstream::read_response_head(
            up(), store_.response_scanner, cfg.max_header_size, cfg.response_timeout);
        if (st.client_failed || st.problem) co_return false; // the client side already failed
        auto r = upstream::take_response_head(up(), response_storage(), read, cfg.response_timeout);
        if (r.problem) {
            st.problem = std::move(r.problem);
            // Nothing at all on a reused connection: the origin closed it as we sent.
            st.retryable = r.nothing_received && rec_.status == 0;
            co_return false;
        }
        if (resp_.status == 407 && st.via_parent) {
            // The parent refused ferry's own credentials: nothing the client can fix (its
            // Proxy-Authorization is for ferry and never forwarded).
            st.problem = {errc::bad_response,
                          fmt::format("ferry: {} refused ferry's credentials ({})", up().label,
                                      resp_.status_line)};
            co_return false;
        }
        if (resp_.status >= 200) co_return true;
        if (resp_.status == 101) {
            st.problem = switch_problem(st.upgrade, up().label);
            co_return !st.problem;
        }
        // Other 1xx go on where the client's protocol takes them.
        store_.out.clear();
        if (client_.protocol.interim_head(req_, resp_, via_name(), store_.out)) {
            auto ec =
                co_await net::write_all(client_out(), asio::buffer(store_.out), cfg.send_timeout);
            if (ec) {
                st.client_failed = true;
                st.problem = client_write_problem(ec, "interim response");
                co_return false;
            }
        }
    }
}

asio::awaitable<void> exchange::relay_response(relay_state& st) {
    const auto& cfg = settings();
    // Whatever happens here, a request body still on its way is no longer wanted.
    auto abandon_body = [&] {
        if (!st.body_running) return;
        st.abandoned = true;
        client_.stream.reading.cancel();
        up().stream->writing.cancel();
    };
    // The request side may have failed before this side started (a bad chunk already in
    // the buffer fails without suspending): its cancel found nothing to cancel.
    if (st.client_failed || st.problem) co_return;
    if (!co_await read_final_response(st)) {
        if (!st.client_failed) abandon_body();
        co_return;
    }
    if (resp_.status == 101) {
        co_await switch_protocols(st); // an upgrade request has no body to abandon
        co_return;
    }

    http::body_framing in;
    if (auto e = http::response_framing(resp_, req_.method, in); e != http::framing_error::none) {
        st.problem = {errc::bad_response,
                      fmt::format("ferry: ambiguous response framing from {}: {}", up().label,
                                  http::describe(e))};
        abandon_body();
        co_return;
    }

    const auto plan = start_response(in, st);
    st.response_started = true;
    const auto coding =
        plan.chunked_output ? http::output_coding::chunked : http::output_coding::identity;
    const http::relay_timeouts timeouts{cfg.response_timeout, cfg.send_timeout, cfg.splice};
    http::relay_outcome outcome;
    if (const auto body = http::body_at_hand(up().buffer.data(), in)) {
        // The common small response: head and body in one write, no relay loop.
        const std::array<asio::const_buffer, 2> message{asio::buffer(store_.out),
                                                        asio::buffer(*body)};
        const auto sent_before = client_.stream.sent;
        auto ec = co_await net::write_all(client_out(), message, cfg.send_timeout);
        if (ec) {
            // What went out of the write before the error: the head first, then the body.
            outcome.status = http::relay_status::write_failed;
            outcome.error = ec;
            outcome.bytes_written = client_.stream.sent - sent_before;
            outcome.body_bytes = outcome.bytes_written > store_.out.size()
                                     ? outcome.bytes_written - store_.out.size()
                                     : 0;
        } else {
            outcome.body_bytes = outcome.bytes_read = body->size();
            outcome.bytes_written = store_.out.size() + body->size();
            up().buffer.consume(body->size());
        }
    } else {
        outcome = co_await http::relay_body(upstream_in(), client_out(), in, coding, store_.out,
                                            timeouts, store_.response_decoder, nullptr);
    }
    if (outcome.bytes_written == 0 && outcome.status != http::relay_status::complete) {
        // Nothing reached the client (a bad chunk right after the head): it gets a 502.
        st.response_started = false;
        rec_.status = 0;
    }
    rec_.body_bytes = outcome.body_bytes; // the bytes to the client: the log phase counts them
    st.close_client = plan.close;
    if (st.client_failed) {
        // The request side failed (and stopped this side): its cause stands.
        st.close_client = true;
        abandon_body();
        co_return;
    }
    note_outcome(outcome, st);
    // Reuse only after a complete, self-delimited response with nothing after it.
    st.upstream_reusable = st.response_complete && in.kind != http::body_kind::until_close &&
                           origin_keeps_alive() && up().buffer.empty();
    abandon_body();
}

http::response_plan exchange::start_response(const http::body_framing& in, const relay_state& st) {
    store_.out.clear();
    const auto plan = client_.protocol.response_head(
        req_, resp_, in, answers(draining() || (st.has_body && !st.body_sent)), store_.out);
    rec_.status = resp_.status;
    rec_.status_line = resp_.status_line;
    rec_.content_type = http::find_field(resp_, "content-type");
    return plan;
}

void exchange::note_outcome(const http::relay_outcome& outcome, relay_state& st) {
    switch (outcome.status) {
    case http::relay_status::complete:
        st.response_complete = true;
        break;
    case http::relay_status::read_failed:
        // Cut short upstream: the client connection is closed mid-message, so the client
        // can tell (RFC 9112 §8); it is never completed as if nothing happened.
        if (outcome.error == asio::error::timed_out)
            st.problem = {errc::response_timeout,
                          causes::origin_stalled(up().label, settings().response_timeout)};
        else
            st.problem = {errc::upstream_closed, causes::origin_closed(up().label)};
        st.close_client = true;
        break;
    case http::relay_status::bad_framing:
        st.problem = {errc::bad_response, fmt::format("ferry: invalid chunked response from {}: {}",
                                                      up().label, http::describe(outcome.chunk))};
        st.close_client = true;
        break;
    case http::relay_status::write_failed:
        st.client_failed = true;
        st.problem = client_write_problem(outcome.error, "response");
        break;
    }
}

asio::awaitable<void> exchange::switch_protocols(relay_state& st) {
    const auto& cfg = settings();
    store_.out.clear();
    client_.protocol.switch_head(resp_, via_name(), store_.out);
    rec_.status = resp_.status;
    rec_.status_line = resp_.status_line;
    st.response_started = true; // from here on the client cannot be answered with an error
    auto ec = co_await net::write_all(client_out(), asio::buffer(store_.out), cfg.send_timeout);
    if (ec) {
        st.client_failed = true;
        st.problem = client_write_problem(ec, "101 response");
        co_return;
    }
    st.switched = true;
}

} // namespace ferry::proxy

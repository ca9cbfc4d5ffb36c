// The exchange's spine: parse, decide, dispatch to a phase, ferry's own replies, the one
// place where a failure becomes a status, and the log phase.
#include "proxy/exchange.h"

#include "http/head_parser.h"
#include "observe/counter.h"
#include "proxy/causes.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

namespace ferry::proxy {

namespace asio = boost::asio;

exchange::exchange(context& ctx, client_side client, exchange_storage& storage,
                   const config::settings& settings)
    : sent_at_start_(client.stream.sent), ctx_(ctx), client_(client), settings_(settings),
      req_(storage.request), resp_(storage.response), rec_(storage.record), store_(storage) {
    rec_.reset();
    rec_.connection = client_.connection;
    rec_.stream = client_.stream_id;
    rec_.client = client_.label;
    rec_.started = std::chrono::system_clock::now();
    rec_.started_steady = std::chrono::steady_clock::now();
    if (client_.identity) rec_.user = *client_.identity;
}

asio::awaitable<next> exchange::run(std::size_t head_bytes) {
    rec_.bytes_from_client = head_bytes;
    // Kept small: a coroutine's frame holds every local of every branch, and this one is
    // allocated per request. The common case — a request to forward, allowed without
    // credentials — goes straight on, and so does a tunnel (CONNECT, SOCKS5) allowed the same
    // way: serve_decided's frame (~850 bytes) would otherwise stay allocated for as long as the
    // tunnel runs, which is most of an idle tunnel's cost. Everything else is serve_decided's.
    decision d = parse_and_decide();
    if ((d.kind == action::forward || d.kind == action::tunnel) && !wants_credentials_check()) {
        if (auto verdict = access_verdict(d.target, client_.identity);
            verdict.what == policy::acl_verdict::kind::allow) {
            if (d.kind == action::tunnel) co_return co_await tunnel(d.target);
            co_return co_await forward(d.target, d.framing);
        }
    }
    co_return co_await serve_decided(d);
}

asio::awaitable<next> exchange::refuse(const error& e, std::size_t bytes_received) {
    rec_.bytes_from_client = bytes_received;
    co_return co_await fail(e, true);
}

void exchange::cut_short(std::size_t bytes_received, std::string cause) {
    rec_.bytes_from_client = bytes_received;
    rec_.cause = std::move(cause);
}

decision exchange::parse_and_decide() {
    const auto& cfg = settings();
    auto e = http::parse_request_head(store_.request_store, cfg.max_target_size, req_);
    rec_.method = req_.method;
    rec_.target = req_.target;
    // An HTTP/2 request reaches the parser as an HTTP/1.1 head (frontend/http2_request.h);
    // the logs name the protocol it came in.
    if (rec_.stream != 0 && e == http::parse_error::none) {
        rec_.request_line = fmt::format("{} {} HTTP/2", req_.method, req_.target);
        req_.minor = 2; // what Via says it came in (RFC 9110 §7.6.3)
    } else
        rec_.request_line = req_.request_line;
    if (e != http::parse_error::none) {
        decision d;
        d.kind = action::reject;
        d.problem.code = e == http::parse_error::target_too_long       ? errc::target_too_long
                         : e == http::parse_error::unsupported_version ? errc::version_not_supported
                                                                       : errc::bad_request;
        d.problem.cause = fmt::format("ferry: {}", http::describe(e));
        return d;
    }
    if (auto loop = forwarding_loop(req_, ctx_.loop_token())) {
        decision d;
        d.problem = std::move(loop);
        return d;
    }
    if (client_.front == front_kind::socks5) {
        rec_.method = "SOCKS5";
        rec_.request_line = fmt::format("SOCKS5 {}", req_.target);
        return decide(req_, ctx_.self(), cfg.socks_ports, "--socks-ports");
    }
    rec_.user_agent = http::find_field(req_, "user-agent");
    rec_.referer = http::find_field(req_, "referer");
    return decide(req_, ctx_.self(), cfg.connect_ports);
}

asio::awaitable<next> exchange::serve_decided(const decision& d) {
    const bool has_body = d.framing.kind != http::body_kind::none &&
                          !(d.framing.kind == http::body_kind::length && d.framing.length == 0);
    // Proxy authentication and the access rules judge what ferry would do for the client;
    // pages about ferry itself (and requests refused anyway) need neither.
    if (d.kind != action::reject && d.kind != action::status_page) {
        std::optional<auth::result> credentials;
        if (wants_credentials_check()) credentials = co_await check_credentials();
        const std::string* user = client_.identity;
        if (credentials && credentials->ok()) user = &rec_.user;
        if (credentials && !credentials->ok()) note_auth_failure(*credentials);
        auto verdict = access_verdict(d.target, user);
        // Counted by the rule that decided once the credentials failed (the one asking for them).
        if (credentials && !credentials->ok() &&
            credentials->what != auth::result::outcome::missing)
            ctx_.metrics().auth_failed_under(verdict.rule);
        using kind = policy::acl_verdict::kind;
        if (verdict.what == kind::need_auth) {
            const auth::result missing; // no credentials sent: a browser's first try
            if (credentials) co_return co_await refuse_credentials(*credentials, has_body);
            co_return co_await refuse_credentials(missing, has_body);
        }
        if (verdict.what == kind::deny) {
            ctx_.metrics().denied(verdict.rule);
            const error denied{errc::forbidden, verdict.reason};
            co_return co_await fail(denied, has_body || d.kind == action::tunnel);
        }
    }
    switch (d.kind) {
    case action::reject:
        co_return co_await fail(d.problem, true);
    case action::status_page: {
        // The admin pages on a proxy port only for a client the access rules (or the default
        // policy) would let use ferry: the port may face clients the admin listener never sees.
        using kind = policy::acl_verdict::kind;
        if (settings().status_on_proxy_port &&
            access_verdict(d.target, client_.identity).what == kind::allow) {
            const std::string_view path = d.target.path.empty() ? "/" : d.target.path;
            auto admin = co_await ctx_.admin_page(req_, path);
            if (admin) {
                admin->close = has_body;
                co_return co_await reply(*admin);
            }
        }
        auto page = status_page();
        page.close = has_body;
        co_return co_await reply(page);
    }
    case action::answer_options: {
        http::local_reply r{200, "", has_body};
        r.extra_fields = "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH\r\n";
        co_return co_await reply(r);
    }
    case action::answer_trace: {
        auto r = trace_reply();
        r.close = has_body;
        co_return co_await reply(r);
    }
    case action::forward:
        co_return co_await forward(d.target, d.framing);
    case action::tunnel:
        co_return co_await tunnel(d.target);
    }
    co_return next::close;
}

asio::awaitable<next> exchange::reply(const http::local_reply& answer, const error* failure) {
    const auto& cfg = settings();
    http::local_reply r = answer;
    r.head_only = rec_.method == "HEAD";
    auto& out = store_.out;
    out.clear();
    auto ctx = answers(draining());
    if (failure) {
        ctx.problem = failure->code;
        ctx.system_error = failure->system_error;
    }
    const bool close = client_.protocol.local_reply(req_, r, ctx, out);
    rec_.status = r.status;
    rec_.content_type = r.content_type;
    auto ec = co_await net::write_all(client_out(), asio::buffer(out), cfg.send_timeout);
    if (ec) co_return next::close;
    if (!r.head_only) rec_.body_bytes = r.body.size();
    co_return close ? next::close : next::keep_alive;
}

// The one place where a failure becomes what the client sees: the status of its errc, a
// one-line body naming the cause, and the same cause in the access log.
asio::awaitable<next> exchange::fail(const error& e, bool force_close) {
    rec_.cause = e.cause;
    const int status = core::to_status(e.code);
    if (status == 0 || !client_.stream.is_open()) co_return next::close;
    const http::local_reply r{status, e.cause + "\n", force_close};
    co_return co_await reply(r, &e);
}

http::local_reply exchange::status_page() const {
    std::string body = fmt::format(
        "ferry {} — HTTP/1.1 forward proxy, connection #{} on worker {}.\n"
        "Use it as a proxy: curl -x http://{} http://example.test/\n",
        FERRY_VERSION, client_.connection, ctx_.index(), http::find_field(req_, "host"));
    return {200, std::move(body), false};
}

http::local_reply exchange::trace_reply() const {
    // The request as received (RFC 9110 §9.3.8), without fields that carry credentials.
    std::string body(req_.request_line);
    body += "\r\n";
    for (const auto& f : req_.fields) {
        if (http::iequals(f.name, "authorization") || http::iequals(f.name, "cookie") ||
            http::iequals(f.name, "proxy-authorization"))
            continue;
        body.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    body += "\r\n";
    http::local_reply r{200, std::move(body), false};
    r.content_type = "message/http";
    return r;
}

namespace {

// Bytes the client's kernel never acknowledged and never will get: once the client has reset
// the connection (state CLOSE while ferry still holds the socket), the kernel has dropped its
// send queue, and SIOCOUTQ still says how much was in it; a client cut at the send timeout
// is closed with a reset (net::tcp_stream::close), which drops the queue too. 0 for a
// connection that can still deliver it (a graceful close sends the queue first).
std::uint64_t undelivered(net::stream& s) {
    auto* socket = s.tcp();
    if (!socket || !socket->is_open()) return 0;
    const int fd = socket->native_handle();
    tcp_info info{};
    socklen_t len = sizeof info;
    const bool reset =
        ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_CLOSE;
    if (!reset && !s.write_timed_out) return 0;
    int queued = 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
    return std::uint64_t(queued);
}

} // namespace

void exchange::settle_record() {
    auto sent = client_.stream.sent - sent_at_start_;
    // Only a failed exchange can have lost bytes: a complete one costs no system call here.
    const auto dropped = rec_.cause.empty() ? 0 : std::min(undelivered(client_.stream), sent);
    sent -= dropped;
    rec_.bytes_to_client = sent;
    // The dropped bytes were the last ones written: body bytes (or a chunk's framing).
    rec_.body_bytes -= std::min(rec_.body_bytes, dropped);
    rec_.body_bytes = std::min(rec_.body_bytes, sent);
    // Only ferry's force-close (shutdown) closes the client's stream under an exchange: an
    // exchange cut by it failed because of it, whatever its reads and writes then saw.
    if (client_.stream.is_open() || !draining()) return;
    const bool tunnel = rec_.connect_like() || rec_.status == 101;
    if (tunnel)
        rec_.cause = causes::shutdown(settings().shutdown_timeout, "the tunnel");
    else if (!rec_.cause.empty() || rec_.status == 0)
        rec_.cause = causes::shutdown(settings().shutdown_timeout,
                                      rec_.status == 0 ? "the exchange" : "the response");
}

void exchange::log() {
    settle_record();
    ctx_.log_exchange(rec_);
}

} // namespace ferry::proxy

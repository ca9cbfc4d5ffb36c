#include "proxy/session.h"

#include "app/worker.h"
#include "http/head_parser.h"
#include "http/read_head.h"
#include "observe/access_log.h"
#include "observe/counter.h"
#include "observe/flow_log.h"
#include "policy/acl.h"
#include "proxy/decision.h"

#include <boost/asio/buffer.hpp>
#include <fmt/format.h>
#include <unistd.h>

namespace ferry::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// How long a quiet client keeps its session before it parks, when the worker is not crowded:
// long enough that a busy keep-alive connection's next request still finds it.
constexpr std::chrono::milliseconds park_after{1000};
// On a crowded worker, a client that came back after parking once parks at the next tick of
// the deadline ticker (at most 200 ms), not at once: parking after every exchange halved
// the requests served with 8,000 busy clients, as each one's next request resumed it.
constexpr std::chrono::milliseconds park_after_crowded{1};

double seconds(std::chrono::milliseconds d) {
    return double(d.count()) / 1000.0;
}

// One write(2) per line, so that lines from several workers never interleave.
void write_stderr(const std::string& line) {
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        auto n = ::write(STDERR_FILENO, data, left);
        if (n <= 0) return;
        data += n;
        left -= std::size_t(n);
    }
}

} // namespace

std::string peer_label(const tcp::endpoint& peer) {
    if (peer.address().is_v6())
        return fmt::format("[{}]:{}", peer.address().to_string(), peer.port());
    return fmt::format("{}:{}", peer.address().to_string(), peer.port());
}

asio::awaitable<void> serve_client(app::worker& worker, tcp::socket socket, tcp::endpoint peer) {
    try {
        const auto id = worker.shared().next_connection.fetch_add(1, std::memory_order_relaxed);
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        session s(worker, worker.make_stream(std::move(socket)), peer, id, false);
        co_await s.run();
    } catch (const std::exception& e) {
        // Only a bug gets here; it must not take the other connections down with it.
        std::fprintf(stderr, "ferry: internal error in a session: %s\n", e.what());
    }
}

asio::awaitable<void> resume_client(app::worker& worker, tcp::socket socket, tcp::endpoint peer,
                                    std::uint64_t id) {
    try {
        session s(worker, worker.make_stream(std::move(socket)), peer, id, true);
        co_await s.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ferry: internal error in a session: %s\n", e.what());
    }
}

session::session(app::worker& worker, std::unique_ptr<net::stream> client,
                 const tcp::endpoint& peer, std::uint64_t id, bool resumed)
    : worker_(worker), settings_(worker.settings_ptr()), client_(std::move(client)), peer_(peer),
      client_label_(peer_label(peer)), client_address_(peer.address()), id_(id), resumed_(resumed),
      request_scanner_(worker.settings().max_header_size, worker.settings().max_target_size + 64,
                       true),
      // Empty lines before a status line are skipped too: some origins send a CRLF after a
      // 100 Continue. Between messages they cannot shift a boundary ferry relies on, as a
      // connection with bytes left after a response is never reused.
      response_scanner_(worker.settings().max_header_size, worker.settings().max_header_size,
                        true) {
    worker_.add(this);
    observe::bump(worker_.metrics().client_connections);
    if (resumed_) return;
    observe::bump(worker_.metrics().client_connections_total);
}

session::~session() {
    if (!parked_) worker_.connection_closed(client_address_);
    observe::decrement(worker_.metrics().client_connections);
    worker_.remove(this);
}

net::inbound session::client_in() {
    return {*client_, in_, settings().max_header_size + 1024};
}
net::outbound session::client_out() {
    return {*client_};
}
net::inbound session::upstream_in() {
    return {up_->stream, up_->buffer,
            std::max<std::size_t>(settings().max_header_size + 1024, 64 * 1024)};
}
net::outbound session::upstream_out() {
    return {up_->stream};
}

void session::drain() {
    draining_ = true;
    if (idle_ && in_.empty()) client_->reading.cancel(); // no request has begun to arrive
}

void session::force_close() {
    draining_ = true;
    client_->close();
    if (up_) {
        up_->stream.writing.cancel(); // a name being resolved for the upstream connection
        up_->stream.close();
    }
}

asio::awaitable<void> session::run() {
    auto& flow = worker_.shared().flow_log;
    if (flow.enabled() && !resumed_) {
        std::string block;
        observe::append_flow_connected(id_, client_label_, block);
        flow.write(block);
    }
    bool first = !resumed_;
    bool fresh = true; // no read yet in this session
    while (client_->is_open()) {
        // Between exchanges: take up a reloaded configuration (a pointer compare when none).
        if (settings_ != worker_.settings_ptr()) settings_ = worker_.settings_ptr();
        // Not held across the loop: a reload replaces the snapshot between exchanges.
        const auto& cfg = settings();
        idle_ = in_.empty();
        if (draining_ && idle_) break;
        // A quiet client with no origin connection bound to it parks (app/parking.h) after a
        // pause, so that a busy connection's next request still finds its session (and its
        // buffer) in place. On a crowded worker, a client that has never come back parks at
        // once (thousands of clients idle after one request each cost no session memory, not
        // even for a moment), one that has comes back soon, likely: a short pause.
        const auto wait = first ? cfg.header_timeout : cfg.idle_timeout;
        const auto wait_until = worker_.now() + wait;
        const bool parkable = idle_ && !up_;
        const bool crowded = worker_.crowded();
        // Not before a first read: a new connection has its request on the way.
        if (parkable && !fresh && crowded && !resumed_ && park(wait_until)) co_return;
        fresh = false;
        const auto pause = crowded ? park_after_crowded : park_after;
        const auto first_byte = parkable ? std::min(wait, pause) : wait;
        auto r = co_await http::read_head(client_in(), request_scanner_,
                                          {first_byte, cfg.header_timeout});
        using http::head_read_status;
        if (r.status == head_read_status::idle_timeout && first_byte < wait) {
            if (draining_) break; // idle while shutting down: close now
            if (client_->is_open() && park(wait_until)) co_return;
            // Not parked: wait on here for the rest of the idle timeout.
            r = co_await http::read_head(client_in(), request_scanner_,
                                         {wait - first_byte, cfg.header_timeout});
        }
        idle_ = false;
        first = false;
        if (r.status == head_read_status::closed || r.status == head_read_status::idle_timeout ||
            r.status == head_read_status::failed)
            break; // nothing of a request arrived: close quietly

        rec_.reset();
        rec_.connection = id_;
        rec_.client = client_label_;
        rec_.started = std::chrono::system_clock::now();
        rec_.started_steady = std::chrono::steady_clock::now();
        // GCC 12 destroys class temporaries inside a co_await expression twice: every
        // argument of an awaited call here is a named object.
        next n = next::close;
        error failure;
        if (r.status == head_read_status::timeout) {
            failure = {errc::header_timeout,
                       fmt::format("ferry: request head not received within {}s",
                                   seconds(cfg.header_timeout))};
        } else if (r.status == head_read_status::cut_short) {
            rec_.bytes_from_client = in_.size();
            rec_.cause = "ferry: client closed the connection in the middle of a request head";
        } else if (r.status == head_read_status::malformed) {
            rec_.bytes_from_client = in_.size();
            switch (r.scan.status) {
            case http::scan_status::line_too_long:
                failure = {errc::target_too_long, "ferry: request-target too long"};
                break;
            case http::scan_status::head_too_large:
                failure = {errc::head_too_large, "ferry: request header section too large"};
                break;
            default:
                failure = {errc::bad_request, "ferry: request line or header not ended by CRLF"};
            }
        } else {
            const auto begin = request_scanner_.head_begin();
            request_store_.assign(in_.data().substr(begin, r.scan.head_end - begin));
            in_.consume(r.scan.head_end);
            rec_.bytes_from_client = r.scan.head_end;
            n = co_await serve_one();
        }
        if (failure) n = co_await reply_error(failure, true);
        log_exchange();
        if (n == next::close || draining_) break;
    }
    // The origin connection is released first: the client may take a while to close.
    drop_upstream();
    co_await close_gracefully();
    if (flow.enabled()) {
        std::string block;
        observe::append_flow_disconnected(id_, client_label_, block);
        flow.write(block);
    }
}

asio::awaitable<session::next> session::serve_one() {
    // Kept small: a coroutine's frame holds every local of every branch, and this one is
    // allocated per request. The common case — a request to forward, allowed without
    // credentials — goes straight on; everything else is serve_decided's.
    decision d = parse_and_decide();
    if (d.kind == action::forward && !wants_credentials_check()) {
        if (auto verdict = access_verdict(d.target, nullptr);
            verdict.what == policy::acl_verdict::kind::allow)
            co_return co_await forward(d.target, d.framing);
    }
    co_return co_await serve_decided(d);
}

decision session::parse_and_decide() {
    const auto& cfg = settings();
    auto e = http::parse_request_head(request_store_, cfg.max_target_size, req_);
    rec_.request_line = req_.request_line;
    rec_.method = req_.method;
    rec_.target = req_.target;
    if (e != http::parse_error::none) {
        decision d;
        d.kind = action::reject;
        d.problem.code = e == http::parse_error::target_too_long       ? errc::target_too_long
                         : e == http::parse_error::unsupported_version ? errc::version_not_supported
                                                                       : errc::bad_request;
        d.problem.cause = fmt::format("ferry: {}", http::describe(e));
        return d;
    }
    rec_.user_agent = http::find_field(req_, "user-agent");
    rec_.referer = http::find_field(req_, "referer");
    return decide(req_, worker_.self(), cfg.connect_ports);
}

bool session::wants_credentials_check() const {
    return worker_.auth().enabled() && !http::find_field(req_, "proxy-authorization").empty();
}

asio::awaitable<session::next> session::serve_decided(const decision& d) {
    const bool has_body = d.framing.kind != http::body_kind::none &&
                          !(d.framing.kind == http::body_kind::length && d.framing.length == 0);
    // Proxy authentication and the access rules judge what ferry would do for the client;
    // pages about ferry itself (and requests refused anyway) need neither.
    if (d.kind != action::reject && d.kind != action::status_page) {
        std::optional<auth::result> credentials;
        if (wants_credentials_check()) credentials = co_await check_credentials();
        const std::string* user = credentials && credentials->ok() ? &rec_.user : nullptr;
        if (credentials && !credentials->ok()) note_auth_failure(*credentials);
        auto verdict = access_verdict(d.target, user);
        using kind = policy::acl_verdict::kind;
        if (verdict.what == kind::need_auth) {
            const auth::result missing; // no credentials sent: a browser's first try
            if (credentials) co_return co_await refuse_credentials(*credentials, has_body);
            co_return co_await refuse_credentials(missing, has_body);
        }
        if (verdict.what == kind::deny) {
            observe::bump(worker_.metrics().acl_denials);
            const error denied{errc::forbidden, verdict.reason};
            co_return co_await reply_error(denied, has_body || d.kind == action::tunnel);
        }
    }
    switch (d.kind) {
    case action::reject:
        co_return co_await reply_error(d.problem, true);
    case action::status_page: {
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

policy::acl_verdict session::access_verdict(const http::target& dest,
                                            const std::string* user) const {
    std::string host(dest.where.host);
    for (auto& c : host)
        c = http::to_lower(c);
    return access_verdict_at(host, dest.where.port, user, nullptr);
}

policy::acl_verdict session::access_verdict_at(std::string_view host, std::uint16_t port,
                                               const std::string* user,
                                               const asio::ip::address* address) const {
    policy::acl_request request;
    request.client = client_address_;
    request.host = host;
    request.port = port;
    request.method = req_.method;
    request.user = user;
    request.address = address;
    request.auth_available = worker_.auth().enabled();
    return policy::evaluate(settings().acl,
                            worker_.shared().acl_default.load(std::memory_order_relaxed), request);
}

void session::note_auth_failure(const auth::result& verdict) {
    // Logged once per request, whatever is answered (fail2ban reads these lines); a missing
    // header is a browser's first try, not a failure.
    if (verdict.what == auth::result::outcome::missing || verdict.ok()) return;
    write_stderr(auth::failure_line(verdict, client_label_));
    observe::bump(worker_.metrics().auth_failures);
}

asio::awaitable<auth::result> session::check_credentials() {
    const auto value = http::find_field(req_, "proxy-authorization");
    const int fields = http::count_fields(req_, "proxy-authorization");
    auto verdict = co_await worker_.auth().check(value, fields);
    if (verdict.ok()) rec_.user = verdict.user;
    co_return verdict;
}

asio::awaitable<session::next> session::refuse_credentials(const auth::result& verdict,
                                                           bool has_body) {
    using outcome = auth::result::outcome;
    // A missing header is a client's first try, not a failure (browsers ask only after a 407).
    std::string cause = "ferry: proxy authentication required";
    if (verdict.what == outcome::malformed)
        cause = "ferry: " + verdict.problem;
    else if (verdict.what != outcome::missing)
        cause = "ferry: proxy authentication failed";
    rec_.cause = cause;
    // Browsers retry on the same connection: keep it unless an unread body is in the way.
    http::local_reply r{407, cause + "\n", has_body};
    r.extra_fields = worker_.auth().challenge();
    co_return co_await reply(r);
}

bool session::client_wants_close() const {
    if (http::has_option(req_, "connection", "close")) return true;
    if (req_.minor == 0)
        return !http::has_option(req_, "connection", "keep-alive") &&
               !http::has_option(req_, "proxy-connection", "keep-alive");
    return false;
}

asio::awaitable<session::next> session::reply(const http::local_reply& answer) {
    const auto& cfg = settings();
    http::local_reply r = answer;
    if (!r.close && (client_wants_close() || draining_)) r.close = true;
    if (!r.close && req_.minor == 0) r.extra_fields += "Connection: keep-alive\r\n";
    r.head_only = rec_.method == "HEAD";
    out_.clear();
    http::write_local_reply(r, cfg.pseudonym, worker_.http_date(), out_);
    rec_.status = r.status;
    rec_.content_type = r.content_type;
    auto ec = co_await net::write_all(client_out(), asio::buffer(out_), cfg.send_timeout);
    if (ec) co_return next::close;
    rec_.bytes_to_client += out_.size();
    if (!r.head_only) rec_.body_bytes = r.body.size();
    co_return r.close ? next::close : next::keep_alive;
}

asio::awaitable<session::next> session::reply_error(const error& e, bool force_close) {
    rec_.cause = e.cause;
    const int status = to_status(e.code);
    if (status == 0 || !client_->is_open()) co_return next::close;
    const http::local_reply r{status, e.cause + "\n", force_close};
    co_return co_await reply(r);
}

http::local_reply session::status_page() const {
    std::string body =
        fmt::format("ferry {} — HTTP/1.1 forward proxy, connection #{} on worker {}.\n"
                    "Use it as a proxy: curl -x http://{} http://example.test/\n",
                    FERRY_VERSION, id_, worker_.index(), http::find_field(req_, "host"));
    return {200, std::move(body), false};
}

http::local_reply session::trace_reply() const {
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

asio::awaitable<void> session::close_gracefully() {
    if (!client_->is_open()) co_return;
    boost::system::error_code ec;
    client_->shutdown_send();
    // Read and drop what the client still sends for a moment, so that closing with unread
    // data does not reset the connection before the client has read the last response
    // (RFC 9112 §9.6).
    // Bounded in bytes and in total time, however the client trickles.
    in_.consume(in_.size());
    std::size_t drained = 0;
    const auto until = worker_.now() + std::chrono::seconds(2);
    while (!ec && drained < 256 * 1024 && !draining_ && worker_.now() < until) {
        std::size_t got = 0;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - worker_.now());
        ec = co_await net::read_some(client_in(), left, got);
        drained += got;
        in_.consume(got);
    }
    client_->close();
}

bool session::park(net::steady_time until) {
    auto* socket = client_->tcp();
    parked_ = socket && worker_.park(*socket, peer_, id_, until);
    return parked_;
}

void session::log_exchange() {
    auto& shared = worker_.shared();
    const auto end = std::chrono::steady_clock::now();
    worker_.metrics().record(rec_, end - rec_.started_steady);
    if (shared.access_log.enabled()) {
        observe::append_access_line(worker_.settings().access_log_format, rec_, end,
                                    worker_.access_buffer());
        worker_.access_logged();
    }
    if (shared.flow_log.enabled()) {
        std::string block;
        observe::append_flow_exchange(rec_, block);
        shared.flow_log.write(block);
    }
}

} // namespace ferry::proxy

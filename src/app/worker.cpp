#include "app/worker.h"

#include "frontend/http1.h"
#include "frontend/registry.h"
#include "http/local_reply.h"
#include "net/listener.h"
#include "net/tcp_stream.h"
#include "observe/access_log.h"
#include "observe/clock.h"
#include "observe/counter.h"
#include "observe/flow_log.h"
#include "upstream/connector.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto tick_interval = 200ms;
// Draining, a PROXY protocol connection whose header has not begun to arrive gets this long
// (give or take a tick) rather than being closed at once: a balancer always speaks first, and
// does not retry a connection closed after its connect succeeded.
constexpr auto drain_header_grace = 200ms;
} // namespace

worker::worker(shared_state& shared, unsigned index)
    : shared_(shared), index_(index), resolver_(io_, shared.settings),
      settings_(std::make_shared<const config::settings>(shared.settings)), tls_(shared.tls_server),
      self_(shared.self),
      pool_(upstream::pool_limits{shared.settings.pool_per_host, shared.settings.pool_total,
                                  shared.settings.pool_idle_timeout}),
      parked_(
          io_,
          [this](int fd, const parked_client& c, std::unique_ptr<frontend::parked_session> extra) {
              resume_parked(fd, c, std::move(extra));
          },
          [this](const parked_client& c) { closed_parked(c); }),
      auth_(shared.auth) {
    refresh_clock();
}

void worker::refresh_clock() {
    now_ = std::chrono::steady_clock::now();
    auto wall = std::chrono::system_clock::now();
    auto second = std::chrono::time_point_cast<std::chrono::seconds>(wall);
    if (second != date_second_) {
        date_second_ = second;
        date_ = observe::http_date(wall);
    }
}

void worker::accept_on(asio::ip::tcp::acceptor& acceptor, const listener& l) {
    const auto serve = l.front_end->serve;
    // Only a plain HTTP listener's client can read a 503 before anything else is said; an
    // HTTPS client over the limit is closed (a TLS handshake would spend what is short).
    const bool plain_http = l.front_end->scheme == "http";
    auto on_accept = [this, serve, plain_http,
                      from = l.proxy_protocol_from](asio::ip::tcp::socket socket) {
        // While draining (queued, or an accept completed just before): served if its client
        // has sent something; closed if not, but a balancer's gets a grace for its header.
        const bool silent = draining_ && !net::has_unread_bytes(socket);
        if (silent && from.empty()) return;
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        if (ec) return; // gone
        if (!from.empty()) {
            const auto local = socket.local_endpoint(ec);
            if (ec) return;
            if (!trusted_balancer(peer.address(), from)) // closed before reading anything
                return refuse_proxied(socket, proxy_refusal::untrusted, peer, local,
                                      "not in proxy_protocol_from");
            ++serving_;
            asio::co_spawn(
                io_,
                counted(serve_proxied(std::move(socket), peer, local, serve, plain_http, silent)),
                asio::detached);
            return;
        }
        if (!admit(socket, peer, plain_http)) return; // over the limits
        ++serving_;
        asio::co_spawn(io_, counted(serve(*this, std::move(socket), peer)), asio::detached);
    };
    asio::co_spawn(io_,
                   net::accept_loop(acceptor, std::move(on_accept), [this] { return draining_; }),
                   asio::detached);
}

namespace {

// A connection waiting for its PROXY protocol header, for the worker's drain. A drain lets
// a header that has begun to arrive finish (within proxy_protocol_timeout: the exchange
// behind it is served, with Connection: close); a connection that has sent nothing yet has
// drain_header_grace for its header to begin.
struct pending_header final : net::drainable {
    header_wait& wait;
    asio::ip::tcp::socket& socket;
    const net::steady_time& now;
    pending_header(header_wait& w, asio::ip::tcp::socket& s, const net::steady_time& n)
        : wait(w), socket(s), now(n) {}
    void drain() override {
        if (!net::has_unread_bytes(socket))
            wait.deadline.arm_at(std::min(wait.deadline.at, now + drain_header_grace));
    }
    void force_close() override { wait.cancel(); }
};

} // namespace

asio::awaitable<void> worker::serve_proxied(asio::ip::tcp::socket socket,
                                            asio::ip::tcp::endpoint balancer,
                                            asio::ip::tcp::endpoint local, frontend::serve_fn serve,
                                            bool plain_http, bool grace_only) {
    header_wait wait;
    wait.deadline.attach(&deadlines_);
    wait.deadline.arm(now_, grace_only ? std::min<std::chrono::milliseconds>(
                                             drain_header_grace, settings_->proxy_protocol_timeout)
                                       : settings_->proxy_protocol_timeout);
    pending_header pending(wait, socket, now_);
    add(&pending);
    auto result = co_await read_proxy_header(socket, balancer, wait);
    remove(&pending);
    wait.deadline.detach();
    if (const auto* no = std::get_if<header_refusal>(&result)) {
        refuse_proxied(socket, no->reason, balancer, local, no->why);
        co_return;
    }
    const auto client = std::get<asio::ip::tcp::endpoint>(result);
    if (!admit(socket, client, plain_http)) co_return;
    // Spawned, not awaited: no temporary socket inside a co_await expression (GCC 12).
    ++serving_;
    asio::co_spawn(io_, counted(serve(*this, std::move(socket), client)), asio::detached);
}

asio::awaitable<void> worker::counted(asio::awaitable<void> serving) {
    try {
        co_await std::move(serving);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ferry: internal error in a connection: %s\n", e.what());
    }
    --serving_;
    stop_if_done();
}

bool worker::nothing_left() const {
    // An acceptor still open while draining: its accept loop has yet to take the queue.
    return count_ == 0 && serving_ == 0 &&
           std::none_of(acceptors_.begin(), acceptors_.end(),
                        [](const asio::ip::tcp::acceptor& a) { return a.is_open(); });
}

void worker::stop_if_done() {
    if (!draining_ || !nothing_left()) return;
    ticker_.cancel();
    flush_timer_.cancel(); // its handler writes what is gathered
    resolver_.shutdown();
}

void worker::refuse_proxied(asio::ip::tcp::socket& socket, proxy_refusal reason,
                            const asio::ip::tcp::endpoint& peer,
                            const asio::ip::tcp::endpoint& local, std::string_view why) {
    boost::system::error_code ignored;
    socket.close(ignored);
    if (draining_) return; // shutting down: not the balancer's fault
    observe::bump(metrics_.proxy_protocol_refused[static_cast<std::size_t>(reason)]);
    const auto line =
        shared_.proxy_refusals.line(reason, peer, local, why, std::chrono::steady_clock::now());
    if (!line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
}

bool worker::admit(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& peer,
                   bool answer) {
    const connection_limits limits{settings_->max_connections != 0
                                       ? settings_->max_connections
                                       : shared_.automatic_max_connections,
                                   settings_->max_connections_per_client};
    const auto verdict = shared_.admitted.admit(peer.address(), limits);
    if (verdict == admit_verdict::admitted) return true;
    observe::bump(metrics_.client_connections_refused);
    boost::system::error_code ignored;
    if (!answer) {
        socket.close(ignored);
        return false;
    }
    // Answered at once, without reading a request: whatever the client sent is read first
    // so that closing does not reset the connection under the answer.
    http::local_reply reply(503, "ferry: " + refusal_cause(verdict, limits, peer.address()) + "\n",
                            true);
    reply.extra_fields = "Retry-After: 1\r\n";
    std::string out;
    http::write_local_reply(reply, settings_->pseudonym, date_, out);
    const int fd = socket.native_handle();
    char sink[4096];
    while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
    [[maybe_unused]] auto sent = ::send(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    socket.close(ignored);
    return false;
}

boost::system::error_code worker::listen_on(const listener& l) {
    boost::system::error_code ec;
    auto acceptor = net::open_acceptor(io_, l.endpoint, ec);
    if (!ec) accept_on(acceptors_.emplace_back(std::move(acceptor)), l);
    return ec;
}

void worker::start() {
    tick();
}

void worker::post_reconfigure(std::shared_ptr<const config::settings> settings, tls_contexts tls,
                              std::vector<asio::ip::tcp::endpoint> self, std::vector<listener> open,
                              std::vector<asio::ip::tcp::endpoint> close) {
    asio::post(io_, [this, settings = std::move(settings), tls = std::move(tls),
                     self = std::move(self), open = std::move(open),
                     close = std::move(close)]() mutable {
        if (draining_) return;
        settings_ = std::move(settings);
        tls_ = std::move(tls.server);
        parent_tls_.context = std::move(tls.parent);
        self_ = std::move(self);
        pool_.set_limits(upstream::pool_limits{settings_->pool_per_host, settings_->pool_total,
                                               settings_->pool_idle_timeout});
        for (const auto& endpoint : close) {
            for (auto& acceptor : acceptors_) {
                boost::system::error_code ec;
                if (acceptor.is_open() && acceptor.local_endpoint(ec) == endpoint)
                    acceptor.close(ec);
            }
        }
        for (const auto& l : open)
            if (auto ec = listen_on(l))
                std::fprintf(stderr, "ferry: cannot listen on %s:%u: %s\n",
                             l.endpoint.address().to_string().c_str(), l.endpoint.port(),
                             ec.message().c_str());
    });
}

void worker::run() {
    io_.run();
    flush_access_log();
}

void worker::log_exchange(const observe::exchange_record& r) {
    const auto end = std::chrono::steady_clock::now();
    metrics_.record(r, end - r.started_steady);
    record_status(r, end - r.started_steady);
    if (shared_.access_log.enabled()) {
        observe::append_access_line(settings_->access_log_format, r, end, access_buffer_);
        if (access_buffer_.size() >= 32 * 1024 || settings_->log_flush_interval.count() <= 0)
            flush_access_log();
        else
            schedule_flush();
    }
    if (shared_.flow_log.enabled()) {
        std::string block;
        observe::append_flow_exchange(r, block);
        shared_.flow_log.write(block);
    }
}

// The status page's figures (issue 16): a few relaxed stores into this second's sample, one
// uncontended lock for the host table and one for the flow ring (a copy of the record).
void worker::record_status(const observe::exchange_record& r,
                           std::chrono::steady_clock::duration took) {
    if (!shared_.settings.admin_listen) return; // nobody can look: nothing is kept
    using namespace std::chrono;
    const auto ended = r.started + duration_cast<system_clock::duration>(took);
    const auto ms = duration_cast<milliseconds>(ended.time_since_epoch()).count();
    // A tunnel's duration is how long it stayed open, not how fast ferry answered: untimed.
    const bool tunnel = r.status == 101 || (r.connect_like() && r.status / 100 == 2);
    std::optional<std::uint64_t> latency;
    if (!tunnel)
        latency =
            std::uint64_t(std::max<std::int64_t>(0, duration_cast<microseconds>(took).count()));
    timeline_.record(ms / 1000, r.bytes_from_client, r.bytes_to_client, r.status, latency);
    hosts_.record(r);
    if (shared_.flow_ring) shared_.flow_ring->record(r, ms);
}

asio::awaitable<std::optional<http::local_reply>> worker::admin_page(const http::request_head& head,
                                                                     std::string_view target) {
    if (!shared_.admin_page) co_return std::nullopt;
    auto page = co_await shared_.admin_page(head, target);
    co_return page;
}

void worker::flow_connected(std::uint64_t id, std::string_view client) {
    if (!shared_.flow_log.enabled()) return;
    std::string block;
    observe::append_flow_connected(id, client, block);
    shared_.flow_log.write(block);
}

void worker::flow_disconnected(std::uint64_t id, std::string_view client) {
    if (!shared_.flow_log.enabled()) return;
    std::string block;
    observe::append_flow_disconnected(id, client, block);
    shared_.flow_log.write(block);
}

std::unique_ptr<upstream::connection> worker::new_connection() {
    return std::make_unique<upstream::connection>(io_, now_, &deadlines_,
                                                  &metrics_.upstream_connections);
}

asio::awaitable<core::error> worker::connect(upstream::connection& c,
                                             const upstream::connect_request& request) {
    auto& stream = *c.tcp(); // made by new_connection
    auto e = co_await upstream::connect(stream, resolver_, request);
    if (!e) {
        boost::system::error_code ignored;
        c.address = stream.socket().remote_endpoint(ignored).address().to_string();
    }
    co_return e;
}

void worker::flush_access_log() {
    if (access_buffer_.empty()) return;
    shared_.access_log.write(access_buffer_);
    access_buffer_.clear();
}

void worker::schedule_flush() {
    if (flush_scheduled_) return; // an older line's deadline comes first
    flush_scheduled_ = true;
    flush_timer_.expires_after(settings_->log_flush_interval);
    flush_timer_.async_wait([this](boost::system::error_code) {
        flush_scheduled_ = false;
        flush_access_log();
    });
}

void worker::tick() {
    refresh_clock(); // (the access log has a timer of its own: schedule_flush)
    pool_.sweep(now_);
    parked_.close_expired(now_);
    trim_memory();
    deadlines_.expire_passed(now_);
    if (draining_ && nothing_left()) {
        flush_timer_.cancel();
        resolver_.shutdown(); // nothing left: let the loop run out
        return;
    }
    ticker_.expires_after(tick_interval);
    ticker_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
    });
}

void worker::trim_memory() {
    // After a burst of sessions (thousands of clients at once, then idle or parked), give the
    // freed memory back to the system: malloc keeps it otherwise, and an idle proxy would
    // stay at its peak. Rare (only after many sessions ended), and cheap for small heaps.
    if (peak_since_trim_ < count_ + trim_after_sessions) return;
    ::malloc_trim(0);
    peak_since_trim_ = count_;
}

std::unique_ptr<net::stream> worker::client_stream(asio::ip::tcp::socket socket) {
    return std::make_unique<net::tcp_stream>(std::move(socket), now_, &deadlines_);
}

void worker::add(net::drainable* w) {
    w->next_ = head_;
    w->prev_ = nullptr;
    if (head_) head_->prev_ = w;
    head_ = w;
    ++count_;
    peak_since_trim_ = std::max(peak_since_trim_, count_);
}

void worker::remove(net::drainable* w) {
    if (w->prev_)
        w->prev_->next_ = w->next_;
    else
        head_ = w->next_;
    if (w->next_) w->next_->prev_ = w->prev_;
    w->prev_ = w->next_ = nullptr;
    --count_;
    stop_if_done();
}

bool worker::park(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& peer,
                  std::uint64_t id, net::steady_time until,
                  std::unique_ptr<frontend::parked_session>& extra) {
    if (draining_ || !parked_.park(socket, peer, id, until, extra)) return false;
    observe::bump(metrics_.client_connections);
    observe::set(metrics_.client_connections_parked, parked_.size());
    return true;
}

void worker::resume_parked(int fd, const parked_client& client,
                           std::unique_ptr<frontend::parked_session> extra) {
    asio::ip::tcp::socket socket(io_);
    boost::system::error_code ec;
    // The socket's own family: behind a PROXY protocol balancer the client's address (the
    // peer kept) may be IPv4 on an IPv6 connection, or the other way round.
    sockaddr_storage own{};
    socklen_t length = sizeof own;
    const bool v6 = ::getsockname(fd, reinterpret_cast<sockaddr*>(&own), &length) == 0
                        ? own.ss_family == AF_INET6
                        : client.peer.address().is_v6();
    socket.assign(v6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
    if (ec) {
        ::close(fd);
        closed_parked(client);
        return;
    }
    // The session counts the connection again.
    observe::decrement(metrics_.client_connections);
    observe::set(metrics_.client_connections_parked, parked_.size());
    ++serving_;
    asio::co_spawn(io_,
                   counted(frontend::resume(*this, std::move(socket), client.peer, client.id,
                                            std::move(extra))),
                   asio::detached);
}

void worker::closed_parked(const parked_client& client) {
    connection_closed(client.peer.address());
    observe::decrement(metrics_.client_connections);
    observe::set(metrics_.client_connections_parked, parked_.size());
    flow_disconnected(client.id, frontend::peer_label(client.peer));
}

void worker::post_drain() {
    asio::post(io_, [this] { drain(); });
}

void worker::post_force_close() {
    asio::post(io_, [this] { force_close(); });
}

void worker::drain() {
    if (draining_) return;
    draining_ = true;
    pool_.clear();
    // Each accept loop wakes, serves the connections already queued and closes its
    // acceptor (net::accept_loop): those clients' connects have succeeded.
    for (auto& acceptor : acceptors_) {
        boost::system::error_code ignored;
        acceptor.cancel(ignored);
    }
    parked_.close_all();
    for (auto* w = head_; w != nullptr;) {
        auto* next = w->next_;
        w->drain();
        w = next;
    }
    // With accept loops still to run, the ticker ends the loop once nothing is left.
    stop_if_done();
}

void worker::force_close() {
    drain();
    for (auto* w = head_; w != nullptr;) {
        auto* next = w->next_;
        w->force_close();
        w = next;
    }
}

} // namespace ferry::app

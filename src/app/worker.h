// One event loop on one thread: its listeners, its connections, their deadlines.
// A connection lives its whole life on one worker, so nothing here needs a lock.
#pragma once

#include "app/admission.h"
#include "app/listeners.h"
#include "app/parking.h"
#include "app/proxy_protocol.h"
#include "auth/authenticator.h"
#include "config/settings.h"
#include "frontend/host.h"
#include "net/deadline.h"
#include "net/stream.h"
#include "observe/flow_ring.h"
#include "observe/host_table.h"
#include "observe/log_sink.h"
#include "observe/metrics.h"
#include "observe/timeline.h"
#include "policy/acl.h"
#include "tls/client_context.h"
#include "upstream/parent_tls.h"
#include "upstream/pool.h"
#include "upstream/resolver.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::app {

// State shared by every worker, read-only once the server runs (but the counter).
struct shared_state {
    // The settings at start: what a reload cannot change (workers, DNS, logs) is read here.
    const config::settings& settings;
    observe::log_sink& access_log;
    observe::log_sink& flow_log;
    std::vector<boost::asio::ip::tcp::endpoint> self; // bound listeners, for loop detection
    // Who may use ferry when no access rule is configured (from the listen addresses).
    std::atomic<policy::default_policy> acl_default{policy::default_policy::loopback_only};
    std::atomic<std::uint64_t> next_connection{1};
    auth::service* auth = nullptr; // users and verification threads; null: no --htpasswd
    // Client connections open, in all and per address, against the connection limits.
    admission admitted{};
    std::size_t automatic_max_connections = 0; // max_connections = 0: this (from the fd limit)
    std::shared_ptr<const tls::server_context> tls_server{}; // at start; null: no https listener
    // TLS to an https:// parent, at start; null: none.
    std::shared_ptr<const tls::client_context> tls_parent{};
    // The last exchanges, for the admin listener's live flow view; null: none kept.
    observe::flow_ring* flow_ring = nullptr;
    // stderr lines for connections a PROXY protocol listener closed (rate-limited).
    refusal_log proxy_refusals{};
    // The admin listener's answer for a proxy port (--status-on-proxy-port); empty: none.
    std::function<boost::asio::awaitable<http::local_reply>(const http::request_head&,
                                                            std::string_view target)>
        admin_page{};
    // The admin listener's bound endpoint (safe destinations refuse it); set before the
    // worker threads start.
    std::optional<boost::asio::ip::tcp::endpoint> admin{};
};

// What a reload hands the workers besides the settings: the https:// listeners' TLS and the
// https:// parent's (each null when there is none).
struct tls_contexts {
    std::shared_ptr<const tls::server_context> server;
    std::shared_ptr<const tls::client_context> parent;
};

class worker final : public frontend::host {
public:
    worker(shared_state& shared, unsigned index);

    boost::asio::io_context& io() { return io_; }
    upstream::resolver& resolver() { return resolver_; }
    shared_state& shared() { return shared_; }

    // proxy::context (see there)
    // The settings new requests start under; replaced by a reload (SIGHUP). A connection
    // keeps the snapshot its exchange started with.
    const std::shared_ptr<const config::settings>& settings() const override { return settings_; }
    // Coarse clocks, refreshed by the ticker: enough for timeouts of seconds.
    const net::steady_time& now() const override { return now_; }
    const std::string& http_date() const override { return date_; }
    net::deadline_list& deadlines() override { return deadlines_; }
    // This worker's copy of the bound listeners, for loop detection.
    std::span<const boost::asio::ip::tcp::endpoint> self() const override { return self_; }
    policy::default_policy default_policy() const override {
        return shared_.acl_default.load(std::memory_order_relaxed);
    }
    std::optional<boost::asio::ip::tcp::endpoint> admin_endpoint() const override {
        return shared_.admin;
    }
    unsigned index() const override { return index_; }
    bool draining() const override { return draining_; }
    // Idle upstream connections shared by this worker's clients.
    upstream::pool& pool() override { return pool_; }
    // Proxy credentials, with this worker's cache of successful checks.
    auth::authenticator& auth() override { return auth_; }
    // This worker's counters; read by the admin listener from the main thread.
    observe::metrics_shard& metrics() override { return metrics_; }
    // The status page's figures: per second, and per origin; read from the main thread.
    const observe::timeline& timeline() const { return timeline_; }
    const observe::host_table& hosts() const { return hosts_; }
    std::unique_ptr<upstream::connection> new_connection() override;
    boost::asio::awaitable<core::error> connect(upstream::connection& c,
                                                const upstream::connect_request& request) override;
    upstream::parent_tls* parent_tls() override { return &parent_tls_; }
    void log_exchange(const observe::exchange_record& r) override;
    boost::asio::awaitable<std::optional<http::local_reply>>
    admin_page(const http::request_head& head, std::string_view target) override;

    // frontend::host (see there)
    std::uint64_t next_connection_id() override {
        return shared_.next_connection.fetch_add(1, std::memory_order_relaxed);
    }
    std::unique_ptr<net::stream> client_stream(boost::asio::ip::tcp::socket socket) override;
    void add(net::drainable* c) override;
    void remove(net::drainable* c) override;
    // A client connection admitted under the connection limits is closed: its count goes.
    void connection_closed(const boost::asio::ip::address& client) override {
        shared_.admitted.release(client);
    }
    // Takes an idle client connection from a front end (see parking.h); it is closed at
    // `until` unless the client sends something first, which resumes it on a new connection
    // object. False when it could not be parked: the front end keeps it.
    bool park(boost::asio::ip::tcp::socket& socket, const boost::asio::ip::tcp::endpoint& peer,
              std::uint64_t id, net::steady_time until,
              std::unique_ptr<frontend::parked_session>& extra) override;
    // Many connections on this worker: an idle one parks at once rather than after a pause.
    bool crowded() const override { return count_ >= crowded_sessions; }
    const std::shared_ptr<const tls::server_context>& tls_server() const override { return tls_; }
    static constexpr std::size_t crowded_sessions = 64;
    void flow_connected(std::uint64_t id, std::string_view client) override;
    void flow_disconnected(std::uint64_t id, std::string_view client) override;

    // Opens this worker's own acceptor on a bound listener (SO_REUSEPORT) and serves what it
    // accepts with the listener's front end. Before run(), or on the worker's loop.
    boost::system::error_code listen_on(const listener& l);
    // Starts the deadline ticker.
    void start();
    // Thread-safe (reload): new settings, TLS and listener set; listeners to open, and the
    // bound endpoints whose acceptors close (first: a listener whose scheme changed reopens
    // there).
    void post_reconfigure(std::shared_ptr<const config::settings> settings, tls_contexts tls,
                          std::vector<boost::asio::ip::tcp::endpoint> self,
                          std::vector<listener> open,
                          std::vector<boost::asio::ip::tcp::endpoint> close);
    // Runs the loop until every connection is gone after drain.
    void run();
    // Thread-safe: stop accepting, let in-flight exchanges finish; then close everything.
    void post_drain();
    void post_force_close();

private:
    // Counts a new client connection in under the limits, or answers it 503 (when `answer`:
    // a plain HTTP listener) and closes it.
    bool admit(boost::asio::ip::tcp::socket& socket, const boost::asio::ip::tcp::endpoint& peer,
               bool answer);
    void resume_parked(int fd, const parked_client& client,
                       std::unique_ptr<frontend::parked_session> extra);
    void closed_parked(const parked_client& client);
    void trim_memory();
    static constexpr std::size_t trim_after_sessions = 32;
    void refresh_clock();
    void record_status(const observe::exchange_record& r, std::chrono::steady_clock::duration took);
    // Access-log lines are gathered per worker and written one block at a time: within
    // log_flush_interval of the first line gathered (a timer armed by that line, so an idle
    // worker never wakes up for it), or when the buffer fills, or at once when the interval
    // is 0. Logging costs the hot path an append, not a syscall.
    void flush_access_log();
    void schedule_flush();
    void tick();
    void drain();
    void force_close();

    shared_state& shared_;
    unsigned index_;
    // Before io_: connections and sessions still in the loop when it is destroyed count down
    // their gauges here.
    observe::metrics_shard metrics_;
    observe::timeline timeline_;
    observe::host_table hosts_;
    boost::asio::io_context io_{1};
    upstream::resolver resolver_; // declared after io_: destroyed before it, after the rest
    // Accepts on `acceptor` and has the listener's front end serve each admitted connection,
    // after its PROXY protocol header when the listener reads one.
    void accept_on(boost::asio::ip::tcp::acceptor& acceptor, const listener& l);
    // A connection on a PROXY protocol listener from a balancer it believes: the header, then
    // admission under the client's address it carries, then the front end. `grace_only`:
    // accepted while draining before the balancer said anything, it has drain_header_grace.
    boost::asio::awaitable<void> serve_proxied(boost::asio::ip::tcp::socket socket,
                                               boost::asio::ip::tcp::endpoint balancer,
                                               boost::asio::ip::tcp::endpoint local,
                                               frontend::serve_fn serve, bool plain_http,
                                               bool grace_only);
    // Runs a connection's serving coroutine, counted in serving_ (raised by the caller, at
    // once, before the coroutine's start is posted) until it ends.
    boost::asio::awaitable<void> counted(boost::asio::awaitable<void> serving);
    // Draining, and nothing is left to serve: the ticker and the resolver stop, and the
    // loop runs out.
    void stop_if_done();
    // Nothing registered, nothing being served, no acceptor left open.
    bool nothing_left() const;
    // Closes a connection a PROXY protocol listener refuses: counted, and said on stderr.
    void refuse_proxied(boost::asio::ip::tcp::socket& socket, proxy_refusal reason,
                        const boost::asio::ip::tcp::endpoint& peer,
                        const boost::asio::ip::tcp::endpoint& local, std::string_view why);

    std::shared_ptr<const config::settings> settings_;
    std::shared_ptr<const tls::server_context> tls_;
    std::vector<boost::asio::ip::tcp::endpoint> self_;
    // A list: accept loops hold references; closed acceptors stay until the worker ends.
    std::list<boost::asio::ip::tcp::acceptor> acceptors_;
    boost::asio::steady_timer ticker_{io_};
    net::steady_time now_;
    std::chrono::system_clock::time_point date_second_;
    std::string date_;
    std::string access_buffer_;
    boost::asio::steady_timer flush_timer_{io_};
    bool flush_scheduled_ = false;
    // Before pool_: the sessions outlive the pooled connections that point at them.
    upstream::parent_tls parent_tls_{shared_.tls_parent};
    upstream::pool pool_;
    parking_lot parked_;
    auth::authenticator auth_;
    net::deadline_list deadlines_;
    net::drainable* head_ = nullptr;
    std::size_t count_ = 0;
    // Connections accepted (or resumed) whose serving coroutine has not ended: between the
    // accept and the front end's registration (a PROXY header, a sniff, the hand-over from
    // a TLS handshake to HTTP/1) one is in no list, yet will need the resolver and the ticker.
    std::size_t serving_ = 0;
    std::size_t peak_since_trim_ = 0; // most sessions at once since memory was last trimmed
    bool draining_ = false;
};

} // namespace ferry::app

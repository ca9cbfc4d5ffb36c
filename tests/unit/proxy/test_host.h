// A whole proxy exchange without a socket: a frontend::host over in-memory streams, a
// clock the test moves, and a scripted origin behind every upstream connection. The real
// front end and exchange code run on it unchanged.
#pragma once

#include "frontend/host.h"
#include "net/memory_stream.h"
#include "observe/exchange_record.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

// What one upstream connection does: for each request it receives (head, then a body by
// Content-Length or chunked), it sends the next answer; after the last one it closes if
// close_after, else waits for more.
struct origin_script {
    std::vector<std::string> answers;
    bool close_after = false;
    bool tunnel_echo = false; // answer nothing: echo every byte back (a CONNECT peer)
};

// What one scripted origin connection saw.
struct origin_log {
    std::string received;
    bool closed_by_ferry = false;
};

class test_host final : public frontend::host {
public:
    explicit test_host(config::settings s = {});
    ~test_host() override;

    // --- the test's controls
    // The connections open now, as the worker holds them: a test drains them (SIGTERM).
    // Declared before io, so that a connection io destroys last can still remove itself.
    std::vector<net::drainable*> drainables;
    boost::asio::io_context io;
    // Scripts for upstream connections, in the order ferry opens them.
    std::deque<origin_script> origins;
    // What each upstream connection received, in the order opened.
    std::vector<std::shared_ptr<origin_log>> upstream_logs;
    // Where ferry asked to connect, "host:port", in order.
    std::vector<std::string> connects;
    // When set, the next connect fails with it (then it is cleared).
    std::optional<core::error> connect_failure;
    std::vector<observe::exchange_record> records;

    // Runs every ready handler until nothing is left to do (no time passes).
    void settle();
    // Moves the clock the way the worker's ticker sees it, 200 ms a tick, expiring what has
    // passed and settling after each tick.
    void advance(std::chrono::milliseconds by);

    // A client connection served by the HTTP/1 front end; the test writes and reads its end.
    struct client {
        boost::asio::io_context* io = nullptr;
        std::unique_ptr<net::memory_stream> end;
        std::shared_ptr<bool> done = std::make_shared<bool>(false);
        std::string received; // everything ferry sent it so far (see read())
        void send(std::string_view bytes);
        // Takes what arrived; true when ferry has ended its side.
        bool read();
    };
    client connect_client();
    // The same, served by the SOCKS5 front end (frontend/socks5).
    client connect_socks5_client();

    // --- frontend::host
    const std::shared_ptr<const config::settings>& settings() const override { return cfg_; }
    const net::steady_time& now() const override { return clock_; }
    const std::string& http_date() const override { return date_; }
    net::deadline_list& deadlines() override { return deadlines_; }
    std::span<const boost::asio::ip::tcp::endpoint> self() const override { return self_; }
    policy::default_policy default_policy() const override {
        return policy::default_policy::loopback_only;
    }
    unsigned index() const override { return 0; }
    bool draining() const override { return false; }
    upstream::pool& pool() override { return pool_; }
    auth::authenticator& auth() override { return auth_; }
    observe::metrics_shard& metrics() override { return metrics_; }
    std::unique_ptr<upstream::connection> new_connection() override;
    boost::asio::awaitable<core::error> connect(upstream::connection& c,
                                                const upstream::connect_request& request) override;
    void log_exchange(const observe::exchange_record& r) override { records.push_back(r); }

    std::uint64_t next_connection_id() override { return ++ids_; }
    std::unique_ptr<net::stream> client_stream(boost::asio::ip::tcp::socket) override {
        return nullptr; // clients come from connect_client()
    }
    void add(net::drainable* c) override {
        ++connections_;
        drainables.push_back(c);
    }
    void remove(net::drainable* c) override {
        --connections_;
        std::erase(drainables, c);
    }
    void connection_closed(const boost::asio::ip::address&) override {}
    bool park(boost::asio::ip::tcp::socket&, const boost::asio::ip::tcp::endpoint&, std::uint64_t,
              net::steady_time, std::unique_ptr<frontend::parked_session>&) override {
        return false;
    }
    const std::shared_ptr<const tls::server_context>& tls_server() const override { return tls_; }
    bool crowded() const override { return false; }
    void flow_connected(std::uint64_t, std::string_view) override {}
    void flow_disconnected(std::uint64_t, std::string_view) override {}

    int open_connections() const { return connections_; }

private:
    std::shared_ptr<const config::settings> cfg_;
    std::shared_ptr<const tls::server_context> tls_; // no https:// listener here
    net::steady_time clock_ = std::chrono::steady_clock::now();
    std::string date_ = "Sat, 05 Dec 2026 08:00:00 GMT";
    net::deadline_list deadlines_;
    std::vector<boost::asio::ip::tcp::endpoint> self_;
    upstream::pool pool_;
    auth::authenticator auth_{nullptr};
    observe::metrics_shard metrics_;
    std::uint64_t ids_ = 0;
    int connections_ = 0;
    // Origin ends waiting for ferry's connect, by connection.
    std::vector<std::unique_ptr<net::memory_stream>> origin_ends_;
};

} // namespace ferry::testing

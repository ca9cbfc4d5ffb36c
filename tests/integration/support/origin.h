// A test origin on 127.0.0.1: a thread per connection, every byte received recorded.
// The default handler serves a small set of paths (see origin.cpp); a test can script
// the exact bytes of its answers instead.
#pragma once

#include "support/socket_io.h"

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry_test {

// One accepted connection, seen from the origin.
class origin_connection {
public:
    explicit origin_connection(tcp_stream s) : stream(std::move(s)) {}
    tcp_stream stream;

    // Reads one request head ("" on close/timeout); every byte read is also recorded.
    std::string read_head(std::chrono::milliseconds timeout = 10s);
    // Reads the body that `head` announces (Content-Length or chunked, decoded); sets ok
    // false if it could not be read completely.
    std::string read_body(std::string_view head, bool& ok, std::chrono::milliseconds timeout = 30s);
    bool send(std::string_view bytes) { return stream.send_all(bytes); }

    std::string received; // raw bytes, as they arrived
};

class test_origin {
public:
    using handler = std::function<void(origin_connection&)>;

    // Serves with `h`, or with the default handler (standard_handler) when empty; on
    // 127.0.0.1, or on [::1] when `ipv6` (check ipv6_loopback_available() first).
    explicit test_origin(handler h = {}, bool ipv6 = false);
    ~test_origin();

    int port() const { return port_; }
    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }

    int connections() const { return accepted_.load(); }
    // All bytes received, connection after connection, once each connection has ended
    // (or so far, for connections still open).
    std::string received() const;
    // Waits until `n` connections have ended (or timeout); true if they did.
    bool wait_closed(int n, std::chrono::milliseconds timeout = 5s) const;

    // The default behaviour, by path:
    //   /size/N        N pattern bytes with Content-Length
    //   /chunked/N     N pattern bytes, chunked in pieces of 1000
    //   /close/N       N pattern bytes, no framing, then close
    //   /echo          the request body back, with Content-Length
    //   /headers       the raw request head received, as the body
    //   /status/NNN    that status, empty body
    //   /continue      100 Continue first if Expect asks for it, then the echo
    //   /slow/MS       waits MS milliseconds, then "slow\n"
    //   anything else  "hello\n"
    static void standard_handler(origin_connection& c);

private:
    void accept_loop();

    int listen_fd_ = -1;
    int port_ = 0;
    handler handler_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0};
    std::atomic<int> ended_{0};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> workers_;
    std::vector<origin_connection*> live_;
    std::vector<std::string> finished_;
};

} // namespace ferry_test

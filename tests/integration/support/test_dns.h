// A small DNS server for tests, on 127.0.0.1 (UDP) at a free port, in a thread of its own:
// A and AAAA records by name, NXDOMAIN for names it does not know, a "silent" mode that
// never answers, and a count of the queries each name received. ferry is pointed at it
// with --dns-server (server_arg()), so tests never touch the machine's resolver.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry_test {

class test_dns {
public:
    test_dns();
    ~test_dns();
    test_dns(const test_dns&) = delete;
    test_dns& operator=(const test_dns&) = delete;

    bool ok() const { return fd_ >= 0; }
    int port() const { return port_; }
    std::string server_arg() const { return "127.0.0.1:" + std::to_string(port_); }

    // Answers `name` with these addresses (IPv4 → A, IPv6 → AAAA; in this order), each
    // record with `ttl` seconds. Replaces what the name had. A name with no records of the
    // asked type gets an empty NOERROR answer (NODATA).
    void set(const std::string& name, const std::vector<std::string>& addresses,
             std::uint32_t ttl = 60);
    // Never answer anything (queries are still counted).
    void set_silent(bool silent) { silent_ = silent; }
    // Answer queries for `name` only after `delay` (other names are answered meanwhile).
    void set_delay(const std::string& name, std::chrono::milliseconds delay);

    // Queries received for `name` (any type, case-insensitive).
    int queries(const std::string& name) const;
    int total_queries() const { return total_.load(); }

private:
    struct record {
        std::uint16_t type; // 1 A, 28 AAAA
        std::string rdata;  // 4 or 16 bytes
        std::uint32_t ttl;
    };
    struct delayed {
        std::chrono::steady_clock::time_point due;
        std::string reply;
        std::string to; // sockaddr bytes
    };
    void serve();
    void send_due();
    std::string answer(const std::string& query);

    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> silent_{false};
    std::atomic<int> total_{0};
    mutable std::mutex mutex_;
    std::map<std::string, std::vector<record>> zone_; // lower-case names, no final dot
    std::map<std::string, int> counts_;
    std::map<std::string, std::chrono::milliseconds> delays_;
    std::vector<delayed> delayed_; // only the server thread touches it
    std::thread thread_;
};

} // namespace ferry_test

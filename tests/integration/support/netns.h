// A network namespace of the test's own, for destinations that must never be reached on the
// real network (link-local, cloud metadata, private ranges, addresses routed to nothing).
//
// The constructor saves the calling thread's namespace, enters a new one (unshare
// CLONE_NEWNET: only loopback exists there, so no packet can leave the machine), and brings
// `lo` up; the destructor goes back (setns). Only the calling thread moves: processes it
// forks afterwards (ferry, `ip`) and threads it starts afterwards (test origins, the test DNS
// server) live in the new namespace; sockets keep the namespace they were made in.
//
// Needs CAP_SYS_ADMIN: when unshare fails, ok() is false and skip_reason() says why —
// GTEST_SKIP() with it.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace ferry_test {

class network_namespace {
public:
    network_namespace();
    ~network_namespace();
    network_namespace(const network_namespace&) = delete;
    network_namespace& operator=(const network_namespace&) = delete;

    bool ok() const { return ok_; }
    const std::string& skip_reason() const { return problem_; }

    // `ip addr add CIDR dev lo` ("169.254.169.254/32", "fd00:ec2::254/128"; IPv6 without
    // duplicate address detection, so it is usable at once). False, with problem() set, when
    // `ip` fails.
    bool add_address(const std::string& cidr);
    // Runs `ip <args>` in the namespace (e.g. {"route", "add", "blackhole", "10.9.0.0/16"}).
    bool ip(const std::vector<std::string>& args);
    const std::string& problem() const { return problem_; }

private:
    int saved_ = -1; // the namespace to return to
    bool ok_ = false;
    std::string problem_;
};

// A minimal HTTP origin on one address (127.0.0.2 on the host, or any address added to lo in
// a namespace), on `port` or one the kernel chooses: counts the connections it accepts and
// answers every request `200` with the body "origin ADDRESS\n", then closes. ok() is false
// when it could not listen there.
class address_origin {
public:
    explicit address_origin(const std::string& address, int port = 0);
    ~address_origin();
    address_origin(const address_origin&) = delete;
    address_origin& operator=(const address_origin&) = delete;

    bool ok() const { return fd_ >= 0; }
    int port() const { return port_; }
    const std::string& address() const { return address_; }
    // "169.254.169.254:PORT", "[fd00:ec2::254]:PORT".
    std::string authority() const;
    int connections() const { return accepted_.load(); }

private:
    void serve();

    std::string address_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

} // namespace ferry_test

// HAProxy from Debian as a load balancer in front of ferry: started by the test in the
// foreground (-db) with a configuration the test writes, in a temporary folder (its output
// goes there too), and stopped at the end. The PROXY protocol tests and the fleet test use it.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>

namespace ferry_test {

class haproxy_process {
public:
    // Writes `config` and runs `haproxy -f CONFIG -db`; waits until 127.0.0.1:`wait_port`
    // (one of its binds) accepts connections. Check ready(); problem() says why not.
    haproxy_process(const std::string& config, int wait_port);
    ~haproxy_process();
    haproxy_process(const haproxy_process&) = delete;
    haproxy_process& operator=(const haproxy_process&) = delete;

    bool ready() const { return ready_; }
    const std::string& problem() const { return problem_; }
    // What HAProxy printed so far (warnings, server state changes), for failure messages.
    std::string log() const;

    // Whether /usr/sbin/haproxy is installed (a missing one is a reason to skip).
    static bool installed();

private:
    bool wait_listening(int port, std::chrono::milliseconds timeout);

    std::string dir_;
    pid_t pid_ = -1;
    bool ready_ = false;
    std::string problem_;
};

// The status HAProxy's stats page (`stats uri /` on 127.0.0.1:`stats_port`) gives a server
// of a proxy, as its CSV says it: "UP", "DOWN", "UP 1/2", "no check"...; "" when not found.
std::string haproxy_server_status(int stats_port, const std::string& proxy,
                                  const std::string& server);

} // namespace ferry_test

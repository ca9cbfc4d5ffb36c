// HAProxy (Debian's haproxy package) as a load balancer in front of ferry: started with a
// configuration the test writes (`haproxy -f FILE -db`, in the foreground), stopped at the
// end of the test. Its frontends are named by the test; ready() waits until each accepts.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ferry_test {

class haproxy_process {
public:
    // Writes `config` to a temporary file and starts haproxy on it; check ok() (it fails when
    // haproxy is not installed, or refuses the configuration: log() says why).
    explicit haproxy_process(const std::string& config);
    ~haproxy_process();
    haproxy_process(const haproxy_process&) = delete;
    haproxy_process& operator=(const haproxy_process&) = delete;

    bool ok() const { return pid_ > 0; }
    // Waits until every one of `ports` on 127.0.0.1 accepts a connection (false after
    // `timeout`, or when haproxy has exited).
    bool ready(const std::vector<int>& ports,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // What haproxy printed so far (stdout and stderr together).
    std::string log() const;

    static bool installed();

private:
    pid_t pid_ = -1;
    std::string config_path_, log_path_;
};

// The lines of an haproxy.cfg for a TCP-mode balancer: one frontend on 127.0.0.1:`port` whose
// backend is 127.0.0.1:`server_port`, sending `send` ("send-proxy", "send-proxy-v2" or "").
std::string haproxy_tcp_frontend(const std::string& name, int port, int server_port,
                                 const std::string& send);

// The global and defaults sections every test's configuration starts with.
std::string haproxy_defaults();

} // namespace ferry_test

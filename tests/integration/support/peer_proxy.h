// Another vendor's HTTP proxy as ferry's parent: tinyproxy or Squid from Debian, started by
// the test in the foreground on a free 127.0.0.1 port with a configuration written into a
// temporary folder (its logs and pid file go there too), and stopped at the end.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ferry_test {

enum class peer_kind { tinyproxy, squid };

class peer_proxy {
public:
    // Starts the proxy with the base configuration of its kind (listen on 127.0.0.1 only,
    // allow 127.0.0.1, no cache, no DNS outside loopback) plus `extra_config` lines, and
    // waits until it accepts connections. Check ready(); problem() says why not.
    explicit peer_proxy(peer_kind kind, std::vector<std::string> extra_config = {});
    ~peer_proxy();
    peer_proxy(const peer_proxy&) = delete;
    peer_proxy& operator=(const peer_proxy&) = delete;

    bool ready() const { return ready_; }
    const std::string& problem() const { return problem_; }
    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    // What the proxy printed and logged so far, for failure messages.
    std::string log() const;

    // Whether the program is installed at all (a missing one is a reason to skip).
    static bool installed(peer_kind kind);
    static const char* program(peer_kind kind);

private:
    std::string config_text(const std::vector<std::string>& extra) const;
    bool wait_listening(std::chrono::milliseconds timeout);

    peer_kind kind_;
    std::string dir_;
    int port_ = 0;
    pid_t pid_ = -1;
    bool ready_ = false;
    std::string problem_;
};

} // namespace ferry_test

// The real ferry binary, started on a free port for one test and stopped at its end.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace ferry_test {

class ferry_process {
public:
    // Starts `ferry 0 <args>` (port 0: the kernel picks a free one) unless `with_port` is
    // false, in which case the arguments are passed as they are. Waits for the
    // "Starting proxy server on port N (ADDRESS)" line.
    // `wrapper`, when given, runs ferry: its words (the first a full path) come before ferry's
    // path, e.g. {"/usr/bin/prlimit", "--nofile=2000:2000"}; pid() is the wrapper's, which
    // must exec ferry in its place.
    explicit ferry_process(std::vector<std::string> args = {}, bool with_port = true,
                           std::vector<std::string> wrapper = {});
    ~ferry_process();
    ferry_process(const ferry_process&) = delete;
    ferry_process& operator=(const ferry_process&) = delete;

    bool started() const { return port_ != 0; }
    int port() const { return port_; }
    std::string proxy_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return pid_; }

    // Everything ferry printed so far on stdout / stderr.
    std::string out() const;
    std::string err() const;
    // Waits until stdout contains `text` (true) or the timeout passes (false).
    bool wait_for_out(const std::string& text,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

    // Sends `signal` and waits for exit; returns the exit status as from waitpid
    // (use WIFEXITED/WEXITSTATUS), or -1 if it had to be killed after `timeout`.
    int stop(int signal = 15, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    bool running() const;

private:
    void pump(int fd, std::string& into);

    pid_t pid_ = -1;
    int port_ = 0;
    int out_fd_ = -1, err_fd_ = -1;
    mutable std::mutex mutex_;
    std::string out_, err_;
    std::thread out_thread_, err_thread_;
    int exit_status_ = 0;
    bool exited_ = false;
};

} // namespace ferry_test

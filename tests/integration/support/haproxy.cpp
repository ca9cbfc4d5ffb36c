#include "support/haproxy.h"

#include "support/eventually.h"
#include "support/log_lines.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace ferry_test {

namespace {

const char* const haproxy_binary = "/usr/sbin/haproxy";

std::string temp_path(const std::string& name) {
    std::string pattern = ::testing::TempDir() + "ferry-haproxy-" + name + "-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) return {};
    ::close(fd);
    return pattern;
}

} // namespace

bool haproxy_process::installed() {
    return ::access(haproxy_binary, X_OK) == 0;
}

haproxy_process::haproxy_process(const std::string& config) {
    config_path_ = temp_path("cfg");
    log_path_ = temp_path("log");
    if (config_path_.empty() || log_path_.empty() || !installed()) return;
    std::ofstream(config_path_) << config;
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int log = ::open(log_path_.c_str(), O_WRONLY | O_TRUNC);
        const int null = ::open("/dev/null", O_RDONLY);
        if (log >= 0) {
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
        }
        if (null >= 0) ::dup2(null, STDIN_FILENO);
        ::execl(haproxy_binary, haproxy_binary, "-f", config_path_.c_str(), "-db",
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    pid_ = pid;
}

haproxy_process::~haproxy_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            ::usleep(20'000);
        }
    }
    if (!config_path_.empty()) std::remove(config_path_.c_str());
    if (!log_path_.empty()) std::remove(log_path_.c_str());
}

bool haproxy_process::ready(const std::vector<int>& ports, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return false;
    return eventually(
               [&] {
                   int status = 0;
                   if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                       pid_ = -1; // exited: a configuration it refused
                       return true;
                   }
                   for (int port : ports)
                       if (!tcp_stream::connect_to(port).ok()) return false;
                   return true;
               },
               timeout) &&
           pid_ > 0;
}

std::string haproxy_process::log() const {
    return read_file(log_path_);
}

std::string haproxy_defaults() {
    return "global\n"
           "    maxconn 200\n"
           "defaults\n"
           "    mode tcp\n"
           "    timeout connect 2s\n"
           "    timeout client 10s\n"
           "    timeout server 10s\n";
}

std::string haproxy_tcp_frontend(const std::string& name, int port, int server_port,
                                 const std::string& send) {
    return "frontend " + name + "\n    bind 127.0.0.1:" + std::to_string(port) +
           "\n    default_backend " + name + "\nbackend " + name +
           "\n    server ferry 127.0.0.1:" + std::to_string(server_port) +
           (send.empty() ? "" : " " + send) + "\n";
}

} // namespace ferry_test

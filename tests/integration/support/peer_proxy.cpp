#include "support/peer_proxy.h"

#include "support/log_lines.h"
#include "support/ports.h"
#include "support/socket_io.h"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ferry_test {

namespace {

constexpr const char* tinyproxy_path = "/usr/bin/tinyproxy";
constexpr const char* squid_path = "/usr/sbin/squid";

} // namespace

const char* peer_proxy::program(peer_kind kind) {
    return kind == peer_kind::tinyproxy ? tinyproxy_path : squid_path;
}

bool peer_proxy::installed(peer_kind kind) {
    return access(program(kind), X_OK) == 0;
}

std::string peer_proxy::config_text(const std::vector<std::string>& extra) const {
    const auto port = std::to_string(port_);
    std::string text;
    auto line = [&](const std::string& l) { text.append(l).push_back('\n'); };
    if (kind_ == peer_kind::tinyproxy) {
        // No LogFile: in the foreground (-d) tinyproxy logs to its stderr, which goes to
        // output.log. No ConnectPort here: without one, CONNECT may reach any port.
        line("Port " + port);
        line("Listen 127.0.0.1");
        line("Timeout 30");
        line("MaxClients 50");
        line("LogLevel Info");
        line("PidFile \"" + dir_ + "/tinyproxy.pid\"");
        line("Allow 127.0.0.1");
        line("ViaProxyName \"tinyproxy\"");
        for (const auto& l : extra)
            line(l);
    } else {
        // Squid drops from root to the user proxy: the folder is writable by everyone, so
        // that it can write its cache.log and pid file there. No cache_dir: memory only,
        // and nothing cached. dns_nameservers on loopback: a name squid ever has to
        // resolve can never leave the machine.
        line("http_port 127.0.0.1:" + port);
        line("pid_filename " + dir_ + "/squid.pid");
        line("cache_log " + dir_ + "/cache.log");
        line("access_log none");
        line("cache_store_log none");
        line("cache deny all");
        line("cache_mem 4 MB");
        line("coredump_dir " + dir_);
        line("visible_hostname squid-test");
        line("dns_nameservers 127.0.0.1");
        line("pinger_enable off");
        line("shutdown_lifetime 0 seconds");
        line("icp_port 0");
        line("htcp_port 0");
        for (const auto& l : extra)
            line(l); // acl and http_access lines go before the final allow
        line("http_access allow localhost");
        line("http_access deny all");
    }
    return text;
}

peer_proxy::peer_proxy(peer_kind kind, std::vector<std::string> extra_config) : kind_(kind) {
    if (!installed(kind)) {
        problem_ = std::string(program(kind)) + " is not installed";
        return;
    }
    char dir_template[] = "/tmp/ferry-peer-XXXXXX";
    if (!mkdtemp(dir_template)) {
        problem_ = "mkdtemp failed";
        return;
    }
    dir_ = dir_template;
    if (kind == peer_kind::squid) chmod(dir_.c_str(), 0777);
    port_ = unused_port();
    const auto config_path = dir_ + "/proxy.conf";
    {
        std::ofstream config(config_path);
        config << config_text(extra_config);
        if (!config) {
            problem_ = "cannot write " + config_path;
            return;
        }
    }
    const auto output_path = dir_ + "/output.log";
    pid_ = fork();
    if (pid_ == 0) {
        setpgid(0, 0); // its own group, so that whatever it starts is stopped with it
        int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
        if (kind == peer_kind::tinyproxy)
            execl(tinyproxy_path, "tinyproxy", "-d", "-c", config_path.c_str(),
                  static_cast<char*>(nullptr));
        else
            execl(squid_path, "squid", "-N", "-f", config_path.c_str(),
                  static_cast<char*>(nullptr));
        _exit(127);
    }
    if (pid_ < 0) {
        problem_ = "fork failed";
        return;
    }
    setpgid(pid_, pid_); // also here: whichever runs first
    ready_ = wait_listening(std::chrono::seconds(10));
}

bool peer_proxy::wait_listening(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            problem_ = std::string(program(kind_)) + " exited at start: " + log();
            return false;
        }
        if (tcp_stream::connect_to(port_).ok()) return true;
        std::this_thread::sleep_for(20ms);
    }
    problem_ = std::string(program(kind_)) + " did not listen within " +
               std::to_string(timeout.count()) + " ms: " + log();
    return false;
}

std::string peer_proxy::log() const {
    if (dir_.empty()) return {};
    auto text = read_file(dir_ + "/output.log");
    if (kind_ == peer_kind::squid) text += read_file(dir_ + "/cache.log");
    return text;
}

peer_proxy::~peer_proxy() {
    if (pid_ > 0) {
        // tinyproxy exits at once on SIGTERM. Squid takes about two seconds even with
        // shutdown_lifetime 0, and has nothing to save (no cache_dir, its files are in
        // the folder removed below): it gets SIGKILL.
        const int first = kind_ == peer_kind::squid ? SIGKILL : SIGTERM;
        kill(-pid_, first);
        kill(pid_, first);
        bool gone = false;
        for (int i = 0; i < 250 && !gone; ++i) {
            int status = 0;
            gone = waitpid(pid_, &status, WNOHANG) == pid_;
            if (!gone) std::this_thread::sleep_for(20ms);
        }
        if (!gone) {
            kill(-pid_, SIGKILL);
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
}

} // namespace ferry_test

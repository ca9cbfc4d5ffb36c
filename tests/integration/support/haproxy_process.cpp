#include "support/haproxy_process.h"

#include "support/log_lines.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ferry_test {

namespace {

constexpr const char* haproxy_path = "/usr/sbin/haproxy";

// The fields of one CSV line (HAProxy's stats CSV quotes nothing).
std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream in(line);
    for (std::string field; std::getline(in, field, ',');)
        out.push_back(field);
    return out;
}

} // namespace

bool haproxy_process::installed() {
    return access(haproxy_path, X_OK) == 0;
}

haproxy_process::haproxy_process(const std::string& config, int wait_port) {
    if (!installed()) {
        problem_ = std::string(haproxy_path) + " is not installed";
        return;
    }
    char dir_template[] = "/tmp/ferry-haproxy-XXXXXX";
    if (!mkdtemp(dir_template)) {
        problem_ = "mkdtemp failed";
        return;
    }
    dir_ = dir_template;
    const auto config_path = dir_ + "/haproxy.cfg";
    {
        std::ofstream file(config_path);
        file << config;
        if (!file) {
            problem_ = "cannot write " + config_path;
            return;
        }
    }
    const auto output_path = dir_ + "/output.log";
    pid_ = fork();
    if (pid_ == 0) {
        int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
        execl(haproxy_path, "haproxy", "-f", config_path.c_str(), "-db",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    if (pid_ < 0) {
        problem_ = "fork failed";
        return;
    }
    ready_ = wait_listening(wait_port, std::chrono::seconds(10));
}

bool haproxy_process::wait_listening(int port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            problem_ = "haproxy exited at start: " + log();
            return false;
        }
        if (tcp_stream::connect_to(port).ok()) return true;
        std::this_thread::sleep_for(20ms);
    }
    problem_ = "haproxy did not listen within " + std::to_string(timeout.count()) + " ms: " + log();
    return false;
}

std::string haproxy_process::log() const {
    return dir_.empty() ? std::string() : read_file(dir_ + "/output.log");
}

haproxy_process::~haproxy_process() {
    if (pid_ > 0) {
        // SIGUSR1 would wait for the connections still open (soft stop); the test is over.
        kill(pid_, SIGTERM);
        bool gone = false;
        for (int i = 0; i < 250 && !gone; ++i) {
            int status = 0;
            gone = waitpid(pid_, &status, WNOHANG) == pid_;
            if (!gone) std::this_thread::sleep_for(20ms);
        }
        if (!gone) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::string haproxy_server_status(int stats_port, const std::string& proxy,
                                  const std::string& server) {
    auto s = tcp_stream::connect_to(stats_port);
    if (!s.ok()) return {};
    s.send_all("GET /;csv HTTP/1.0\r\n\r\n");
    const auto reply = s.read_until_close(2s);
    // "# pxname,svname,qcur,...,status,...": find the status column by its header.
    std::size_t status_column = 0;
    std::stringstream lines(std::string(body_of(reply)));
    for (std::string line; std::getline(lines, line);) {
        const auto fields = fields_of(line.rfind("# ", 0) == 0 ? line.substr(2) : line);
        if (line.rfind("# ", 0) == 0) {
            for (std::size_t i = 0; i < fields.size(); ++i)
                if (fields[i] == "status") status_column = i;
            continue;
        }
        if (fields.size() > status_column && fields[0] == proxy && fields[1] == server)
            return fields[status_column];
    }
    return {};
}

} // namespace ferry_test

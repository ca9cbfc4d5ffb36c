#include "support/ferry_process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

namespace ferry_test {

ferry_process::ferry_process(std::vector<std::string> args, bool with_port,
                             std::vector<std::string> wrapper) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return;
    std::vector<std::string> argv_store = std::move(wrapper);
    argv_store.push_back(FERRY_BINARY);
    if (with_port) argv_store.push_back("0");
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_ = fork();
    if (pid_ == 0) {
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    out_thread_ = std::thread([this] { pump(out_fd_, out_); });
    err_thread_ = std::thread([this] { pump(err_fd_, err_); });

    if (!wait_for_out("Starting proxy server on port ", std::chrono::seconds(10))) return;
    // The port of the first listener; wait for the whole line.
    std::regex line("Starting proxy server on port ([0-9]+) \\([^)]*\\)\n");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        std::smatch m;
        auto text = out();
        if (std::regex_search(text, m, line)) {
            port_ = std::stoi(m[1]);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

ferry_process::~ferry_process() {
    if (running()) stop(SIGKILL, std::chrono::seconds(5));
    if (out_thread_.joinable()) out_thread_.join();
    if (err_thread_.joinable()) err_thread_.join();
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
}

void ferry_process::pump(int fd, std::string& into) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        std::lock_guard lock(mutex_);
        into.append(buf, std::size_t(n));
    }
}

std::string ferry_process::out() const {
    std::lock_guard lock(mutex_);
    return out_;
}

std::string ferry_process::err() const {
    std::lock_guard lock(mutex_);
    return err_;
}

bool ferry_process::wait_for_out(const std::string& text, std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (out().find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out().find(text) != std::string::npos;
}

bool ferry_process::running() const {
    if (pid_ <= 0 || exited_) return false;
    return kill(pid_, 0) == 0;
}

int ferry_process::stop(int signal, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    if (exited_) return exit_status_;
    kill(pid_, signal);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exited_ = true;
            exit_status_ = status;
            if (out_thread_.joinable()) out_thread_.join();
            if (err_thread_.joinable()) err_thread_.join();
            return status;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    exited_ = true;
    exit_status_ = -1;
    return -1;
}

} // namespace ferry_test

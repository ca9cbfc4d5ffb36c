#include "observe/log_sink.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace ferry::observe {

namespace {
int open_for_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}
} // namespace

log_sink::~log_sink() {
    if (!path_.empty() && fd_ >= 0) ::close(fd_);
}

bool log_sink::retarget(const std::string& where) {
    if (where == where_ && (enabled() || where.empty() || where == "off")) return true;
    const bool off = where.empty() || where == "off";
    const bool standard = where == "-" || where == "stderr";
    int fresh = -1;
    if (standard) fresh = where == "-" ? STDOUT_FILENO : STDERR_FILENO;
    if (!off && !standard) {
        fresh = open_for_append(where);
        if (fresh < 0) return false;
    }
    int old = -1;
    {
        std::lock_guard lock(mutex_);
        if (!path_.empty()) old = fd_; // stdout and stderr are never closed
        fd_ = fresh;
        path_ = off || standard ? std::string() : where;
        enabled_.store(!off, std::memory_order_relaxed);
    }
    where_ = where;
    if (old >= 0) ::close(old); // no write holds it any more: they all run under the lock
    return true;
}

bool log_sink::reopen() {
    if (path_.empty()) return true;
    const int fresh = open_for_append(path_);
    if (fresh < 0) return false;
    int old = -1;
    {
        std::lock_guard lock(mutex_);
        old = fd_;
        fd_ = fresh;
    }
    ::close(old); // no write holds it any more: they all run under the lock
    return true;
}

void log_sink::write(std::string_view block) {
    if (!enabled()) return;
    std::lock_guard lock(mutex_);
    while (!block.empty() && fd_ >= 0) {
        ssize_t n = ::write(fd_, block.data(), block.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return; // a log that cannot be written must not stop the proxy
        }
        block.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace ferry::observe

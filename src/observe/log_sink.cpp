#include "observe/log_sink.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace ferry::observe {

log_sink::~log_sink() {
    if (owned_) ::close(fd_);
}

bool log_sink::open(const std::string& where) {
    if (where.empty() || where == "off") return true;
    if (where == "-") {
        fd_ = STDOUT_FILENO;
        return true;
    }
    fd_ = ::open(where.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    owned_ = fd_ >= 0;
    return fd_ >= 0;
}

void log_sink::write(std::string_view block) {
    if (fd_ < 0) return;
    std::lock_guard lock(mutex_);
    while (!block.empty()) {
        ssize_t n = ::write(fd_, block.data(), block.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return; // a log that cannot be written must not stop the proxy
        }
        block.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace ferry::observe

// Where log lines go: stdout or an append-only file. A block is written with one write(2)
// under a lock, so lines of two exchanges never interleave, whatever thread logs them.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace ferry::observe {

class log_sink {
public:
    log_sink() = default; // disabled
    ~log_sink();
    log_sink(const log_sink&) = delete;
    log_sink& operator=(const log_sink&) = delete;

    // "-" is stdout, "off" or "" disables; anything else is a file opened for append.
    // Returns false (with errno set) when the file cannot be opened.
    bool open(const std::string& where);

    bool enabled() const { return fd_ >= 0; }
    void write(std::string_view block);

private:
    int fd_ = -1;
    bool owned_ = false;
    std::mutex mutex_;
};

} // namespace ferry::observe

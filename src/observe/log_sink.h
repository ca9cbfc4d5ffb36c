// Where log lines go: stdout, stderr or an append-only file. A block is written with one
// write(2) under a lock, so lines of two exchanges never interleave, whatever thread logs them.
// reopen() (on SIGUSR1, for logrotate) and retarget() (a reload naming a new destination) swap
// the descriptor under the same lock: a block goes whole to the old destination or whole to
// the new one, none is lost.
#pragma once

#include <atomic>
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

    // "-" is stdout, "stderr" is stderr, "off" or "" disables; anything else is a file opened
    // for append (created 0644 if need be). Call once, before any write.
    // Returns false (with errno set) when the file cannot be opened.
    bool open(const std::string& where) { return retarget(where); }

    // Writes to `where` (as for open()) from now on, while writers run; the old file is
    // closed once no write uses it. Returns false (errno set) when the new file cannot be
    // opened, and keeps writing where it did. Called from one thread at a time.
    bool retarget(const std::string& where);

    // Opens the file again by its path (a no-op for stdout, stderr or a disabled sink); the
    // old descriptor is closed once no write uses it. Returns false (errno set) when the file
    // cannot be opened, and keeps writing to the old one. Not concurrently with retarget().
    bool reopen();

    bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
    bool is_file() const { return !path_.empty(); }
    const std::string& path() const { return path_; }
    void write(std::string_view block);

private:
    std::atomic<bool> enabled_{false}; // read by writers without the lock
    std::string where_;                // as given to open() / retarget()
    std::string path_;                 // the file's path; empty for stdout, stderr or disabled
    int fd_ = -1;                      // guarded by mutex_ once writers run
    std::mutex mutex_;
};

} // namespace ferry::observe

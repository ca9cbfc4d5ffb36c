// Reading a process's memory figures from /proc/PID/status.
#pragma once

#include <string_view>
#include <sys/types.h>

namespace ferry_test {

// A "kB" field of /proc/PID/status ("VmHWM", "VmRSS"), in KiB; -1 when it cannot be read.
long proc_status_kib(pid_t pid, std::string_view field);

inline long peak_rss_kib(pid_t pid) {
    return proc_status_kib(pid, "VmHWM");
}
inline long rss_kib(pid_t pid) {
    return proc_status_kib(pid, "VmRSS");
}

// True when this test binary (and so ferry, built with the same flags) runs under
// AddressSanitizer, whose runtime and shadow memory make absolute RSS figures meaningless.
constexpr bool built_with_asan() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

} // namespace ferry_test

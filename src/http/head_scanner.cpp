#include "http/head_scanner.h"

#include <cstring>

namespace ferry::http {

namespace {
// At most this many empty lines are skipped before a request line.
constexpr std::size_t max_leading_empty_bytes = 64;
} // namespace

scan_result head_scanner::scan(std::string_view buf) {
    while (pos_ < buf.size()) {
        const void* hit = std::memchr(buf.data() + pos_, '\n', buf.size() - pos_);
        if (hit == nullptr) {
            pos_ = buf.size();
            break;
        }
        const std::size_t lf = static_cast<const char*>(hit) - buf.data();
        // The limits first, as when the line arrives without its LF yet (see the end): the
        // verdict on a line too long must not depend on whether its LF came with it.
        const std::size_t content_end = (lf > line_start_ && buf[lf - 1] == '\r') ? lf - 1 : lf;
        if (!start_line_seen_ && content_end - line_start_ > max_start_line_)
            return {scan_status::line_too_long, 0};
        if (content_end - leading_ > max_head_) return {scan_status::head_too_large, 0};
        if (lf == line_start_ || buf[lf - 1] != '\r') return {scan_status::bare_lf, 0};
        const std::size_t line_length = lf - 1 - line_start_;
        pos_ = lf + 1;
        if (line_length == 0) {
            if (!start_line_seen_) {
                if (skip_leading_ && pos_ <= max_leading_empty_bytes) {
                    leading_ = line_start_ = pos_;
                    continue;
                }
                // An empty start line: let the parser reject it.
                return {scan_status::complete, pos_};
            }
            return {scan_status::complete, pos_};
        }
        if (!start_line_seen_) {
            start_line_seen_ = true;
            if (line_length > max_start_line_) return {scan_status::line_too_long, 0};
        }
        line_start_ = pos_;
        if (pos_ - leading_ > max_head_) return {scan_status::head_too_large, 0};
    }
    // A CR at the end may be the first half of a line end: it does not count yet, so the
    // verdict does not depend on where the bytes were split.
    const std::size_t end = (pos_ > line_start_ && buf[pos_ - 1] == '\r') ? pos_ - 1 : pos_;
    if (!start_line_seen_ && end - line_start_ > max_start_line_)
        return {scan_status::line_too_long, 0};
    if (end - leading_ > max_head_) return {scan_status::head_too_large, 0};
    return {scan_status::need_more, 0};
}

} // namespace ferry::http

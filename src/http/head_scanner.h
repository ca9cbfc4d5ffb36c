// Finds where a message head ends in bytes that arrive in pieces. Pure: it never reads.
// Lines must end in CRLF; a bare LF is reported at once instead of waiting for a CRLF that
// never comes (RFC 9112 §2.2 lets a recipient accept bare LF; ferry, a proxy, does not).
#pragma once

#include <cstddef>
#include <string_view>

namespace ferry::http {

enum class scan_status { need_more, complete, bare_lf, head_too_large, line_too_long };

struct scan_result {
    scan_status status = scan_status::need_more;
    std::size_t head_end = 0; // with complete: offset just past the empty line
};

class head_scanner {
public:
    // max_head bounds the whole head; max_start_line bounds the request or status line.
    // skip_leading_empty_lines: requests may be preceded by CRLFs (RFC 9112 §2.2).
    head_scanner(std::size_t max_head, std::size_t max_start_line, bool skip_leading_empty_lines)
        : max_head_(max_head), max_start_line_(max_start_line),
          skip_leading_(skip_leading_empty_lines) {}

    // `buf` holds every byte received for this head so far; each call looks only at the
    // bytes it has not seen before.
    scan_result scan(std::string_view buf);

    // Offset of the head's first byte (past skipped empty lines).
    std::size_t head_begin() const { return leading_; }

    void reset() { *this = head_scanner(max_head_, max_start_line_, skip_leading_); }

private:
    std::size_t max_head_;
    std::size_t max_start_line_;
    bool skip_leading_;
    std::size_t pos_ = 0;
    std::size_t line_start_ = 0;
    std::size_t leading_ = 0;
    bool start_line_seen_ = false;
};

} // namespace ferry::http

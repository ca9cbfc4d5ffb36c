// The head scanner's contract, checked by both head fuzzers: its verdict does not depend on
// how the network splits the bytes.
#pragma once

#include "fuzz_check.h"

#include "http/head_scanner.h"

#include <algorithm>
#include <string>
#include <string_view>

namespace ferry::fuzz {

struct whole_scan {
    http::scan_result result;
    std::size_t begin = 0; // where the head starts, after skipped empty lines
};

// Scans `bytes` at once and again in pieces whose sizes follow from `split`; once the pieces
// reach a verdict it must be the one-go verdict, at the same place. Returns the one-go scan.
inline whole_scan scan_both_ways(std::string_view bytes, std::size_t max_head, std::size_t max_line,
                                 std::uint8_t split) {
    http::head_scanner whole(max_head, max_line, true);
    const auto once = whole.scan(bytes);

    http::head_scanner scanner(max_head, max_line, true);
    std::string buf;
    http::scan_result r;
    std::size_t step = split % 17 + 1;
    for (std::size_t at = 0; at < bytes.size();) {
        const auto n = std::min(step, bytes.size() - at);
        buf.append(bytes.substr(at, n));
        at += n;
        step = (step * 7 + split) % 23 + 1;
        r = scanner.scan(buf);
        if (r.status != http::scan_status::need_more) break;
    }
    if (r.status != http::scan_status::need_more) {
        FUZZ_CHECK(r.status == once.status);
        FUZZ_CHECK(r.head_end == once.head_end);
        FUZZ_CHECK(scanner.head_begin() == whole.head_begin());
    }
    return {once, whole.head_begin()};
}

} // namespace ferry::fuzz

// Regressions found by fuzzing (tests/fuzz, request_head and response_head targets): a line
// over a limit got a different verdict when its bare LF came in the same read (bare_lf, 400)
// than when it came later (line_too_long or head_too_large): the verdict depended on how the
// network split the bytes. The limits now come first either way.
#include "http/head_scanner.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::http {
namespace {

scan_status whole(std::size_t max_head, std::size_t max_line, const std::string& bytes) {
    head_scanner scanner(max_head, max_line, true);
    return scanner.scan(bytes).status;
}

scan_status byte_by_byte(std::size_t max_head, std::size_t max_line, const std::string& bytes) {
    head_scanner scanner(max_head, max_line, true);
    std::string buf;
    for (char c : bytes) {
        buf.push_back(c);
        auto r = scanner.scan(buf);
        if (r.status != scan_status::need_more) return r.status;
    }
    return scan_status::need_more;
}

TEST(ScannerSplitRegression, StartLineTooLongBeforeItsBareLf) {
    const std::string bytes = std::string(200, 'a') + "\n";
    EXPECT_EQ(whole(512, 128, bytes), scan_status::line_too_long);
    EXPECT_EQ(byte_by_byte(512, 128, bytes), scan_status::line_too_long);
}

TEST(ScannerSplitRegression, HeadTooLargeBeforeABareLf) {
    const std::string bytes = "HTTP/1.1 200 OK\r\nX: " + std::string(300, 'b') + "\nmore";
    EXPECT_EQ(whole(256, 256, bytes), scan_status::head_too_large);
    EXPECT_EQ(byte_by_byte(256, 256, bytes), scan_status::head_too_large);
}

TEST(ScannerSplitRegression, AShortLineWithABareLfIsStillBareLf) {
    const std::string bytes = "GET / HTTP/1.1\nHost: a\r\n\r\n";
    EXPECT_EQ(whole(512, 128, bytes), scan_status::bare_lf);
    EXPECT_EQ(byte_by_byte(512, 128, bytes), scan_status::bare_lf);
}

} // namespace
} // namespace ferry::http

// head_scanner: where a head ends in bytes that arrive in pieces. The verdict must not depend
// on how the bytes were split by the network (DESIGN: parsers are tested at every split point).
#include "http/head_scanner.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace ferry::http {

// static: found by argument-dependent lookup, private to this file.
static std::ostream& operator<<(std::ostream& os, scan_status s) {
    switch (s) {
    case scan_status::need_more:
        return os << "need_more";
    case scan_status::complete:
        return os << "complete";
    case scan_status::bare_lf:
        return os << "bare_lf";
    case scan_status::head_too_large:
        return os << "head_too_large";
    case scan_status::line_too_long:
        return os << "line_too_long";
    }
    return os << "scan_status(" << int(s) << ")";
}

namespace {

// What a caller of the scanner acts on: the verdict, where the head ends, where it begins.
struct verdict {
    scan_status status;
    std::size_t head_end;
    std::size_t head_begin;
    bool operator==(const verdict&) const = default;
};

std::ostream& operator<<(std::ostream& os, const verdict& v) {
    os << v.status;
    if (v.status == scan_status::complete)
        os << " head [" << v.head_begin << ", " << v.head_end << ")";
    return os;
}

struct limits {
    std::size_t max_head = 64 * 1024;
    std::size_t max_start_line = 8 * 1024 + 64;
    bool skip_leading = true;
};

head_scanner make_scanner(const limits& l) {
    return head_scanner(l.max_head, l.max_start_line, l.skip_leading);
}

verdict to_verdict(const head_scanner& s, scan_result r) {
    return {r.status, r.status == scan_status::complete ? r.head_end : 0,
            r.status == scan_status::complete ? s.head_begin() : 0};
}

verdict scan_at_once(std::string_view input, const limits& l) {
    auto s = make_scanner(l);
    return to_verdict(s, s.scan(input));
}

// scan(input[0, k)) then, when that is not already a verdict, scan(input).
verdict scan_split(std::string_view input, std::size_t k, const limits& l) {
    auto s = make_scanner(l);
    auto r = s.scan(input.substr(0, k));
    if (r.status != scan_status::need_more) return to_verdict(s, r);
    return to_verdict(s, s.scan(input));
}

// The buffer grows by one byte per call, as with a client that sends byte by byte.
verdict scan_byte_by_byte(std::string_view input, const limits& l) {
    auto s = make_scanner(l);
    scan_result r;
    for (std::size_t n = 1; n <= input.size(); ++n) {
        r = s.scan(input.substr(0, n));
        if (r.status != scan_status::need_more) break;
    }
    return to_verdict(s, r);
}

constexpr std::string_view simple_get = "GET http://example.test/ HTTP/1.1\r\n"
                                        "Host: example.test\r\n"
                                        "User-Agent: unit\r\n"
                                        "\r\n";

TEST(HeadScanner, CompleteHeadEndsJustPastTheEmptyLine) {
    auto v = scan_at_once(simple_get, {});
    EXPECT_EQ(v, (verdict{scan_status::complete, simple_get.size(), 0}));
}

TEST(HeadScanner, BytesAfterTheHeadAreNotPartOfIt) {
    std::string input = "POST http://example.test/ HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    auto v = scan_at_once(input, {});
    EXPECT_EQ(v.status, scan_status::complete);
    EXPECT_EQ(input.substr(v.head_end), "hello");
}

TEST(HeadScanner, BodyBytesThatLookLikeAnotherHeadEndDoNotMoveTheEnd) {
    std::string input = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    auto v = scan_at_once(input, {});
    EXPECT_EQ(v.status, scan_status::complete);
    EXPECT_EQ(v.head_end, std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\r\n").size());
}

TEST(HeadScanner, EveryProperPrefixNeedsMore) {
    for (std::size_t k = 0; k < simple_get.size(); ++k)
        EXPECT_EQ(scan_at_once(simple_get.substr(0, k), {}).status, scan_status::need_more)
            << "prefix of " << k << " bytes";
}

TEST(HeadScanner, LeadingEmptyLinesBeforeARequestAreSkipped) {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
    std::string input = "\r\n\r\n" + std::string(simple_get);
    auto v = scan_at_once(input, {});
    EXPECT_EQ(v, (verdict{scan_status::complete, input.size(), 4}));
}

TEST(HeadScanner, ResponsesDoNotSkipLeadingEmptyLines) {
    // The response scanner is built with skip_leading_empty_lines = false: the empty line is
    // the whole "head", which the parser then rejects as a malformed status line.
    limits l;
    l.skip_leading = false;
    auto v = scan_at_once("\r\nHTTP/1.1 200 OK\r\n\r\n", l);
    EXPECT_EQ(v, (verdict{scan_status::complete, 2, 0}));
}

TEST(HeadScanner, AnEndlessRunOfEmptyLinesIsNotWaitedOnForever) {
    std::string input;
    for (int i = 0; i < 4096; ++i)
        input += "\r\n";
    auto v = scan_at_once(input, {});
    EXPECT_NE(v.status, scan_status::need_more);
    // And whatever the verdict, it is not a head that starts past all those lines.
    if (v.status == scan_status::complete) {
        EXPECT_LT(v.head_end, input.size());
    }
}

TEST(HeadScanner, BareLfIsReportedWithoutWaitingForMore) {
    // A bare LF is reported at once; nothing after it is needed to decide.
    for (std::string_view input : {
             std::string_view("GET / HTTP/1.1\n"),
             std::string_view("GET / HTTP/1.1\r\nHost: a\n"),
             std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\n"),
             std::string_view("\n"),
             std::string_view("\r\n\n"),
         })
        EXPECT_EQ(scan_at_once(input, {}).status, scan_status::bare_lf)
            << testing::PrintToString(std::string(input));
}

TEST(HeadScanner, CrNotBeforeLfIsLeftToTheParser) {
    // "X: a\rb" is a complete line as far as line ends go; head_parser rejects the bare CR.
    std::string input = "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n";
    EXPECT_EQ(scan_at_once(input, {}).status, scan_status::complete);
}

TEST(HeadScanner, StartLineLongerThanTheLimitIsRejectedBeforeItEnds) {
    limits l;
    l.max_start_line = 32;
    std::string line = "GET /" + std::string(100, 'a');
    // No line end yet: the scanner must not keep buffering a start line it will refuse.
    EXPECT_EQ(scan_at_once(line, l).status, scan_status::line_too_long);
    EXPECT_EQ(scan_at_once(line + " HTTP/1.1\r\n\r\n", l).status, scan_status::line_too_long);
}

TEST(HeadScanner, StartLineOfExactlyTheLimitIsAccepted) {
    limits l;
    std::string line = "GET /" + std::string(27, 'a'); // 32 bytes
    l.max_start_line = line.size();
    EXPECT_EQ(scan_at_once(line + "\r\n\r\n", l).status, scan_status::complete);
    EXPECT_EQ(scan_at_once(line + "a\r\n\r\n", l).status, scan_status::line_too_long);
}

TEST(HeadScanner, FieldLinesAreBoundByTheHeadLimitNotTheStartLineLimit) {
    limits l;
    l.max_start_line = 32;
    l.max_head = 4096;
    std::string input = "GET / HTTP/1.1\r\nX-Long: " + std::string(1000, 'v') + "\r\n\r\n";
    EXPECT_EQ(scan_at_once(input, l).status, scan_status::complete);
}

TEST(HeadScanner, HeadLargerThanTheLimitIsRejectedBeforeItEnds) {
    limits l;
    l.max_head = 256;
    std::string input = "GET / HTTP/1.1\r\n";
    while (input.size() < 1024)
        input += "X-Filler: 0123456789\r\n";
    EXPECT_EQ(scan_at_once(input, l).status, scan_status::head_too_large);
    EXPECT_EQ(scan_at_once(input + "\r\n", l).status, scan_status::head_too_large);
}

TEST(HeadScanner, LeadingEmptyLinesDoNotCountTowardsTheHeadLimit) {
    limits l;
    std::string head = std::string(simple_get);
    l.max_head = head.size();
    EXPECT_EQ(scan_at_once("\r\n\r\n" + head, l).status, scan_status::complete);
}

TEST(HeadScanner, ResetStartsOverForTheNextMessage) {
    auto s = make_scanner({});
    std::string first = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(s.scan(first).status, scan_status::complete);
    s.reset();
    std::string second = "\r\nPOST / HTTP/1.1\r\nHost: b\r\n\r\n";
    auto r = s.scan(second);
    EXPECT_EQ(r.status, scan_status::complete);
    EXPECT_EQ(r.head_end, second.size());
    EXPECT_EQ(s.head_begin(), 2u);
}

// --- every split point ----------------------------------------------------------------------

struct split_case {
    const char* name;
    std::string input;
    limits lim;
    scan_status expected; // the verdict when scanned at once
};

std::ostream& operator<<(std::ostream& os, const split_case& c) {
    return os << c.name;
}

std::string many_fields(std::size_t at_least) {
    std::string s = "GET / HTTP/1.1\r\n";
    while (s.size() < at_least)
        s += "X-Filler: 0123456789abcdef\r\n";
    return s + "\r\n";
}

limits small_head() {
    limits l;
    l.max_head = 200;
    return l;
}

limits short_line() {
    limits l;
    l.max_start_line = 24;
    return l;
}

limits response_limits() {
    limits l;
    l.skip_leading = false;
    return l;
}

std::vector<split_case> split_cases() {
    return {
        {"simple_get", std::string(simple_get), {}, scan_status::complete},
        {"with_body",
         "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
         {},
         scan_status::complete},
        {"pipelined",
         "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
         {},
         scan_status::complete},
        {"leading_crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", {}, scan_status::complete},
        {"no_fields", "GET / HTTP/1.1\r\n\r\n", {}, scan_status::complete},
        {"response", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", response_limits(),
         scan_status::complete},
        {"response_leading_crlf", "\r\nHTTP/1.1 200 OK\r\n\r\n", response_limits(),
         scan_status::complete},
        {"cr_cr_lf", "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", {}, scan_status::complete},
        {"bare_lf_start_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", {}, scan_status::bare_lf},
        {"bare_lf_field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", {}, scan_status::bare_lf},
        {"bare_lf_end", "GET / HTTP/1.1\r\nHost: a\r\n\n", {}, scan_status::bare_lf},
        {"bare_lf_first", "\nGET / HTTP/1.1\r\n\r\n", {}, scan_status::bare_lf},
        {"bare_lf_after_leading_crlf", "\r\n\nGET / HTTP/1.1\r\n\r\n", {}, scan_status::bare_lf},
        {"oversized_head", many_fields(600), small_head(), scan_status::head_too_large},
        {"start_line_too_long", "GET /" + std::string(80, 'a') + " HTTP/1.1\r\n\r\n", short_line(),
         scan_status::line_too_long},
        {"empty_lines_forever",
         [] {
             std::string s;
             for (int i = 0; i < 200; ++i)
                 s += "\r\n";
             return s;
         }(),
         {},
         scan_status::complete},
    };
}

class HeadScannerSplit : public testing::TestWithParam<split_case> {};

TEST_P(HeadScannerSplit, AtOnceGivesTheExpectedVerdict) {
    const auto& c = GetParam();
    EXPECT_EQ(scan_at_once(c.input, c.lim).status, c.expected);
}

TEST_P(HeadScannerSplit, SameVerdictAtEverySplitPoint) {
    const auto& c = GetParam();
    const auto once = scan_at_once(c.input, c.lim);
    for (std::size_t k = 0; k <= c.input.size(); ++k)
        EXPECT_EQ(scan_split(c.input, k, c.lim), once) << "split after " << k << " bytes";
}

TEST_P(HeadScannerSplit, SameVerdictByteByByte) {
    const auto& c = GetParam();
    EXPECT_EQ(scan_byte_by_byte(c.input, c.lim), scan_at_once(c.input, c.lim));
}

INSTANTIATE_TEST_SUITE_P(Inputs, HeadScannerSplit, testing::ValuesIn(split_cases()),
                         [](const testing::TestParamInfo<split_case>& info) {
                             return std::string(info.param.name);
                         });

// --- limits at their exact boundary, at every split point ----------------------------------

TEST(HeadScannerSplitAtLimit, StartLineOfExactlyTheLimitAcceptedAtEverySplit) {
    std::string line = "GET http://example.test/abc HTTP/1.1";
    limits l;
    l.max_start_line = line.size();
    std::string input = line + "\r\nHost: example.test\r\n\r\n";
    ASSERT_EQ(scan_at_once(input, l).status, scan_status::complete);
    for (std::size_t k = 0; k <= input.size(); ++k)
        EXPECT_EQ(scan_split(input, k, l), scan_at_once(input, l)) << "split after " << k;
}

TEST(HeadScannerSplitAtLimit, HeadOfExactlyTheLimitAcceptedAtEverySplit) {
    std::string input = "GET / HTTP/1.1\r\nHost: example.test\r\nX-A: 1\r\n\r\n";
    limits l;
    // The largest head accepted when it arrives in one piece.
    l.max_head = input.size();
    while (l.max_head > 0) {
        limits smaller = l;
        smaller.max_head = l.max_head - 1;
        if (scan_at_once(input, smaller).status != scan_status::complete) break;
        l = smaller;
    }
    ASSERT_EQ(scan_at_once(input, l).status, scan_status::complete);
    for (std::size_t k = 0; k <= input.size(); ++k)
        EXPECT_EQ(scan_split(input, k, l), scan_at_once(input, l)) << "split after " << k;
}

} // namespace
} // namespace ferry::http

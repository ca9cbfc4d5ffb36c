// chunked_decoder: the chunked transfer coding (RFC 9112 §7.1), fed in arbitrary pieces.
// What is decoded (data, trailers, where the message ends, which error) must not depend on
// where the network split the bytes.
#include "http/chunked.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

namespace ferry::http {

static std::ostream& operator<<(std::ostream& os, chunk_error e) {
    return os << "chunk_error(" << int(e) << ": " << describe(e) << ")";
}

namespace {

using namespace std::string_literals;

struct decoded {
    std::string data;
    std::string trailers;
    bool done = false;
    chunk_error error = chunk_error::none;
    std::string rest; // bytes after the end of the message, left for the next one
    bool operator==(const decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const decoded& d) {
    return os << "{data=" << testing::PrintToString(d.data)
              << " trailers=" << testing::PrintToString(d.trailers) << " done=" << d.done
              << " error=" << d.error << " rest=" << testing::PrintToString(d.rest) << "}";
}

// Feeds each piece the way relay_body does: decode, take the data, pass the rest again.
decoded decode_pieces(const std::vector<std::string_view>& pieces) {
    chunked_decoder d;
    decoded r;
    for (auto piece : pieces) {
        while (!piece.empty()) {
            if (d.done()) {
                r.rest.append(piece);
                break;
            }
            if (d.failed()) break;
            auto step = d.decode(piece);
            if (step.consumed == 0 && !d.done() && !d.failed()) {
                ADD_FAILURE() << "decoder made no progress on "
                              << testing::PrintToString(std::string(piece));
                return r;
            }
            EXPECT_LE(step.consumed, piece.size());
            r.data.append(step.data);
            piece.remove_prefix(step.consumed);
        }
    }
    r.done = d.done();
    r.error = d.error();
    if (r.done) r.trailers = d.trailers();
    EXPECT_FALSE(r.done && d.failed());
    return r;
}

decoded decode_at_once(std::string_view in) {
    return decode_pieces({in});
}

decoded decode_split(std::string_view in, std::size_t k) {
    return decode_pieces({in.substr(0, k), in.substr(k)});
}

decoded decode_byte_by_byte(std::string_view in) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < in.size(); ++i)
        pieces.push_back(in.substr(i, 1));
    return decode_pieces(pieces);
}

decoded ok(std::string data, std::string trailers = "", std::string rest = "") {
    return {std::move(data), std::move(trailers), true, chunk_error::none, std::move(rest)};
}

// --- whole bodies -----------------------------------------------------------------------

TEST(Chunked, SimpleBody) {
    EXPECT_EQ(decode_at_once("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), ok("hello world"));
}

TEST(Chunked, EmptyBody) {
    EXPECT_EQ(decode_at_once("0\r\n\r\n"), ok(""));
}

TEST(Chunked, HexDigitsInEitherCase) {
    std::string ten = "0123456789";
    EXPECT_EQ(decode_at_once("a\r\n" + ten + "\r\nA\r\n" + ten + "\r\n0\r\n\r\n"), ok(ten + ten));
    std::string big(0x1F, 'x');
    EXPECT_EQ(decode_at_once("1f\r\n" + big + "\r\n0\r\n\r\n"), ok(big));
    EXPECT_EQ(decode_at_once("1F\r\n" + big + "\r\n0\r\n\r\n"), ok(big));
}

TEST(Chunked, LeadingZerosInTheSizeAreAccepted) {
    EXPECT_EQ(decode_at_once("0005\r\nhello\r\n000\r\n\r\n"), ok("hello"));
    // Leading zeros are not significant digits: they do not count towards the size limit.
    EXPECT_EQ(decode_at_once(std::string(40, '0') + "3\r\nabc\r\n0\r\n\r\n"), ok("abc"));
}

TEST(Chunked, DataMayContainAnyByte) {
    std::string data = "\r\n\r\n0\r\n\r\n\0\xff"s;
    char size[8];
    std::snprintf(size, sizeof size, "%zx", data.size());
    EXPECT_EQ(decode_at_once(std::string(size) + "\r\n" + data + "\r\n0\r\n\r\n"), ok(data));
}

TEST(Chunked, ExtensionsAreSkipped) {
    EXPECT_EQ(decode_at_once("5;name=value\r\nhello\r\n0;last\r\n\r\n"), ok("hello"));
    EXPECT_EQ(decode_at_once("5;a=\"quoted; value\";b;c=d\r\nhello\r\n0\r\n\r\n"), ok("hello"));
    EXPECT_EQ(decode_at_once("5;a=b\t;c\r\nhello\r\n0\r\n\r\n"), ok("hello"));
}

TEST(Chunked, WhitespaceBeforeTheExtensionSemicolonIsAccepted) {
    // chunk-ext = *( BWS ";" BWS ext-name ... ) (RFC 9112 §7.1.1)
    EXPECT_EQ(decode_at_once("5 ;x=y\r\nhello\r\n0\r\n\r\n"), ok("hello"));
    EXPECT_EQ(decode_at_once("5\t;x\r\nhello\r\n0\r\n\r\n"), ok("hello"));
    EXPECT_EQ(decode_at_once("5 \t ;x\r\nhello\r\n0\r\n\r\n"), ok("hello"));
}

TEST(Chunked, Trailers) {
    EXPECT_EQ(decode_at_once("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-More:  1 \r\n\r\n"),
              ok("hello", "X-Checksum: abc\r\nX-More:  1 \r\n"));
}

TEST(Chunked, BytesAfterTheMessageAreLeftForTheNextOne) {
    EXPECT_EQ(decode_at_once("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
              ok("abc", "", "GET / HTTP/1.1\r\n\r\n"));
}

TEST(Chunked, FifteenSignificantDigitsAreAccepted) {
    auto r = decode_at_once("fffffffffffffff\r\nsome data");
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.error, chunk_error::none);
    EXPECT_EQ(r.data, "some data");
}

TEST(Chunked, ResetReadiesTheDecoderForTheNextMessage) {
    chunked_decoder d;
    std::string_view first = "0\r\nX-A: 1\r\n\r\n";
    d.decode(first);
    ASSERT_TRUE(d.done());
    EXPECT_EQ(d.trailers(), "X-A: 1\r\n");
    d.reset();
    EXPECT_FALSE(d.done());
    auto step = d.decode("3\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(step.data, "abc");
    step = d.decode(std::string_view("3\r\nabc\r\n0\r\n\r\n").substr(step.consumed));
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.trailers(), "");
}

// --- errors -----------------------------------------------------------------------------

void expect_error(std::string_view in, chunk_error e) {
    auto r = decode_at_once(in);
    EXPECT_EQ(r.error, e) << testing::PrintToString(std::string(in));
    EXPECT_FALSE(r.done);
}

TEST(ChunkedErrors, SizeTooLarge) {
    expect_error("7fffffffffffffff\r\n", chunk_error::size_too_large);
    expect_error("ffffffffffffffff\r\n", chunk_error::size_too_large);
    expect_error("ffffffffffffffffffff\r\n", chunk_error::size_too_large); // 20 hex digits
    expect_error("10000000000000000\r\n", chunk_error::size_too_large);
    expect_error("0001000000000000000\r\n", chunk_error::size_too_large); // 16 significant
    // Detected as soon as the digit arrives, not when the line ends.
    expect_error("ffffffffffffffffffff", chunk_error::size_too_large);
}

TEST(ChunkedErrors, BadSize) {
    for (std::string_view in : {"\r\n", ";ext\r\n", "-1\r\n", "+5\r\n", "0x5\r\n", "g\r\n",
                                " 5\r\n", "5z\r\n", "5\"\r\n"})
        expect_error(in, chunk_error::bad_size);
}

TEST(ChunkedErrors, WhitespaceAfterTheSizeWithoutAnExtensionIsRejected) {
    auto r = decode_at_once("5 \r\nhello\r\n0\r\n\r\n");
    EXPECT_NE(r.error, chunk_error::none);
    r = decode_at_once("5\t\r\nhello\r\n0\r\n\r\n");
    EXPECT_NE(r.error, chunk_error::none);
    r = decode_at_once("5 x\r\nhello\r\n0\r\n\r\n");
    EXPECT_NE(r.error, chunk_error::none);
}

TEST(ChunkedErrors, BareLfOrBareCrInTheSizeLine) {
    expect_error("5\nhello\r\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("5\rhello\r\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("5\r\r\nhello\r\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("5;a=b\nhello\r\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("5;a\rb\r\nhello\r\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("0\n\r\n", chunk_error::bad_line_end);
}

TEST(ChunkedErrors, DataMustBeFollowedByCrlf) {
    expect_error("5\r\nhelloX\r\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("5\r\nhello\n0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("5\r\nhello\r0\r\n\r\n", chunk_error::bad_line_end);
    expect_error("3\r\nhello\r\n0\r\n\r\n", chunk_error::bad_line_end); // size too small
}

TEST(ChunkedErrors, ControlCharactersInExtensions) {
    expect_error("5;a=\x01z\r\nhello\r\n0\r\n\r\n", chunk_error::bad_extension);
    expect_error("5;a=\x7fz\r\nhello\r\n0\r\n\r\n", chunk_error::bad_extension);
    expect_error("5;a=\0z\r\nhello\r\n0\r\n\r\n"s, chunk_error::bad_extension);
}

TEST(ChunkedErrors, HugeExtensionIsRejected) {
    std::string in = "5;" + std::string(64 * 1024, 'a') + "\r\nhello\r\n0\r\n\r\n";
    expect_error(in, chunk_error::extension_too_long);
    // Rejected without waiting for the line to end.
    expect_error(in.substr(0, 32 * 1024), chunk_error::extension_too_long);
    std::string padded = "5" + std::string(64 * 1024, ' ') + ";a\r\nhello\r\n0\r\n\r\n";
    expect_error(padded, chunk_error::extension_too_long);
}

TEST(ChunkedErrors, Trailers) {
    expect_error("0\r\nX-A: 1\n\r\n", chunk_error::bad_line_end);
    expect_error("0\r\nX-A: 1\r\n\n", chunk_error::bad_line_end);
    expect_error("0\r\n\n", chunk_error::bad_line_end);
    expect_error("0\r\nX-A: 1\r\n folded\r\n\r\n", chunk_error::bad_trailer);
    expect_error("0\r\nno colon\r\n\r\n", chunk_error::bad_trailer);
    expect_error("0\r\nX-A : 1\r\n\r\n", chunk_error::bad_trailer);
    expect_error("0\r\n: 1\r\n\r\n", chunk_error::bad_trailer);
    expect_error("0\r\nX-A: 1\rX\r\n\r\n", chunk_error::bad_trailer);
    expect_error("0\r\nX-A: \0\r\n\r\n"s, chunk_error::bad_trailer);
    std::string big = "0\r\n";
    while (big.size() < 20 * 1024)
        big += "X-Filler: 0123456789abcdef\r\n";
    expect_error(big + "\r\n", chunk_error::trailer_too_large);
}

TEST(ChunkedErrors, AFailedDecoderStaysFailedAndYieldsNothing) {
    chunked_decoder d;
    auto step = d.decode("5\nhello");
    EXPECT_TRUE(d.failed());
    EXPECT_EQ(d.error(), chunk_error::bad_line_end);
    EXPECT_TRUE(step.data.empty());
    step = d.decode("5\r\nhello\r\n0\r\n\r\n");
    EXPECT_TRUE(d.failed());
    EXPECT_FALSE(d.done());
    EXPECT_TRUE(step.data.empty());
}

TEST(ChunkedErrors, ExtensionWithoutANameIsRejected) {
    // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
    // chunk-ext-name = token, chunk-ext-val = token / quoted-string (RFC 9112 §7.1.1).
    EXPECT_NE(decode_at_once("1;\r\nA\r\n0\r\n\r\n").error, chunk_error::none);
    EXPECT_NE(decode_at_once("1;a=\"b\r\nA\r\n0\r\n\r\n").error, chunk_error::none);
    EXPECT_NE(decode_at_once("1;a b\r\nA\r\n0\r\n\r\n").error, chunk_error::none);
}

TEST(ChunkError, EveryErrorHasItsOwnDescription) {
    std::vector<std::string> seen;
    for (int i = int(chunk_error::none); i <= int(chunk_error::trailer_too_large); ++i) {
        std::string d(describe(chunk_error(i)));
        EXPECT_NE(d, "unknown error") << i;
        for (const auto& s : seen)
            EXPECT_NE(d, s) << i;
        seen.push_back(d);
    }
}

// --- every split point ------------------------------------------------------------------

struct split_case {
    const char* name;
    std::string input;
    bool valid;
};

std::ostream& operator<<(std::ostream& os, const split_case& c) {
    return os << c.name;
}

std::vector<split_case> split_cases() {
    std::string big(300, 'b');
    return {
        {"simple", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", true},
        {"one_byte_chunks", "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n", true},
        {"larger_chunk", "12c\r\n" + big + "\r\n0\r\n\r\n", true},
        {"leading_zeros", "0005\r\nhello\r\n0000\r\n\r\n", true},
        {"extensions", "5;a=b;c=\"d;e\"\r\nhello\r\n0;z\r\n\r\n", true},
        {"bws_before_semicolon", "5 \t;x\r\nhello\r\n0\r\n\r\n", true},
        {"crlf_in_data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", true},
        {"trailers", "5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: two words\r\n\r\n", true},
        {"pipelined", "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", true},
        {"size_too_large", "7fffffffffffffff\r\n", false},
        {"twenty_digits", "ffffffffffffffffffff\r\nx\r\n", false},
        {"bare_lf_size", "5\nhello\r\n0\r\n\r\n", false},
        {"bare_cr_size", "5\rhello\r\n0\r\n\r\n", false},
        {"bare_lf_ext", "5;a\nhello\r\n0\r\n\r\n", false},
        {"no_crlf_after_data", "5\r\nhelloXY0\r\n\r\n", false},
        {"lf_after_data", "5\r\nhello\n0\r\n\r\n", false},
        {"bad_size", "5\r\nhello\r\nzz\r\n\r\n", false},
        {"ctl_in_ext", "5;a\x01z\r\nhello\r\n0\r\n\r\n", false},
        {"huge_extension", "5;" + std::string(5 * 1024, 'e') + "\r\nhello\r\n0\r\n\r\n", false},
        {"bad_trailer", "0\r\nX-A: 1\r\n folded\r\n\r\n", false},
        {"bare_lf_trailer", "0\r\nX-A: 1\n\r\n", false},
        {"space_after_size", "5 \r\nhello\r\n0\r\n\r\n", false},
    };
}

class ChunkedSplit : public testing::TestWithParam<split_case> {};

TEST_P(ChunkedSplit, AtOnceIsValidOrNot) {
    const auto& c = GetParam();
    auto r = decode_at_once(c.input);
    if (c.valid) {
        EXPECT_TRUE(r.done) << r;
        EXPECT_EQ(r.error, chunk_error::none);
    } else {
        EXPECT_FALSE(r.done) << r;
        EXPECT_NE(r.error, chunk_error::none);
    }
}

TEST_P(ChunkedSplit, SameResultAtEverySplitPoint) {
    const auto& c = GetParam();
    const auto once = decode_at_once(c.input);
    for (std::size_t k = 0; k <= c.input.size(); ++k)
        ASSERT_EQ(decode_split(c.input, k), once) << "split after " << k << " bytes";
}

TEST_P(ChunkedSplit, SameResultAtEveryPairOfSplitPoints) {
    const auto& c = GetParam();
    const std::string_view in = c.input;
    if (in.size() > 80) return; // quadratic: the single splits cover the longer bodies
    const auto once = decode_at_once(in);
    for (std::size_t i = 0; i <= in.size(); ++i)
        for (std::size_t j = i; j <= in.size(); ++j)
            ASSERT_EQ(decode_pieces({in.substr(0, i), in.substr(i, j - i), in.substr(j)}), once)
                << "splits after " << i << " and " << j << " bytes";
}

TEST_P(ChunkedSplit, SameResultByteByByte) {
    const auto& c = GetParam();
    EXPECT_EQ(decode_byte_by_byte(c.input), decode_at_once(c.input));
}

INSTANTIATE_TEST_SUITE_P(Bodies, ChunkedSplit, testing::ValuesIn(split_cases()),
                         [](const testing::TestParamInfo<split_case>& info) {
                             return std::string(info.param.name);
                         });

} // namespace
} // namespace ferry::http

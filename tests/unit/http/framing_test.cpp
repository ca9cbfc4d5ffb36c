// framing: where a message body ends (RFC 9112 §6). Whenever two readers could disagree about
// the length, ferry refuses the message rather than picking one reading.
#include "http/framing.h"

#include "describe_check.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace ferry::http {

static std::ostream& operator<<(std::ostream& os, framing_error e) {
    return os << "framing_error(" << int(e) << ": " << describe(e) << ")";
}

static std::ostream& operator<<(std::ostream& os, body_kind k) {
    switch (k) {
    case body_kind::none:
        return os << "none";
    case body_kind::length:
        return os << "length";
    case body_kind::chunked:
        return os << "chunked";
    case body_kind::until_close:
        return os << "until_close";
    }
    return os << "body_kind(" << int(k) << ")";
}

namespace {

// Field values are given as head_parser produces them: without surrounding whitespace.
request_head req(std::initializer_list<field> fields, int minor = 1,
                 std::string_view method = "POST") {
    request_head h;
    h.method = method;
    h.target = "/";
    h.minor = minor;
    h.fields = fields;
    return h;
}

response_head resp(int status, std::initializer_list<field> fields, int minor = 1) {
    response_head h;
    h.status = status;
    h.minor = minor;
    h.fields = fields;
    return h;
}

struct result {
    framing_error error;
    body_framing framing;
};

result of(const request_head& h) {
    result r{};
    r.error = request_framing(h, r.framing);
    return r;
}

result of(const response_head& h, std::string_view method = "GET") {
    result r{};
    r.error = response_framing(h, method, r.framing);
    return r;
}

void expect_length(const result& r, std::uint64_t n) {
    EXPECT_EQ(r.error, framing_error::none);
    EXPECT_EQ(r.framing.kind, body_kind::length);
    EXPECT_EQ(r.framing.length, n);
}

void expect_kind(const result& r, body_kind k) {
    EXPECT_EQ(r.error, framing_error::none);
    EXPECT_EQ(r.framing.kind, k);
}

// --- requests: Content-Length -----------------------------------------------------------

TEST(RequestFraming, NoFramingFieldsMeansNoBody) {
    expect_kind(of(req({{"Host", "a"}})), body_kind::none);
    expect_kind(of(req({}, 0)), body_kind::none);
}

TEST(RequestFraming, ContentLength) {
    expect_length(of(req({{"Content-Length", "5"}})), 5);
    expect_length(of(req({{"content-length", "0"}})), 0);
    expect_length(of(req({{"CONTENT-LENGTH", "003"}})), 3); // 1*DIGIT: leading zeros are digits
    expect_length(of(req({{"Content-Length", "999999999999999999"}})), 999999999999999999ull);
}

TEST(RequestFraming, InvalidContentLengthIsRejected) {
    for (std::string_view v :
         {"", "+5", "-1", "5.0", "0x10", "5 5", "five", "5\t5", ",", ", ,", "18446744073709551616",
          "99999999999999999999", "100000000000000000000000000000"})
        EXPECT_EQ(of(req({{"Content-Length", v}})).error, framing_error::bad_content_length)
            << testing::PrintToString(std::string(v));
}

TEST(RequestFraming, RepeatedIdenticalContentLengthFieldsAreOneLength) {
    expect_length(of(req({{"Content-Length", "5"}, {"Content-Length", "5"}})), 5);
    expect_length(of(req({{"Content-Length", "5"}, {"Host", "a"}, {"content-length", "005"}})), 5);
}

TEST(RequestFraming, AListInOneContentLengthIsRejected) {
    // RFC 9110 §8.6 lets a recipient read "5, 5" as 5; in a request ferry refuses it, as the
    // smuggling corpora class it severe (a next hop may read the first element only).
    for (std::string_view v : {"5, 5", "5,5", "5, 6", "0, 0"})
        EXPECT_EQ(of(req({{"Content-Length", v}})).error, framing_error::bad_content_length) << v;
}

TEST(ResponseFraming, ListOfIdenticalContentLengthsIsOneLength) {
    body_framing out;
    EXPECT_EQ(response_framing(resp(200, {{"Content-Length", "5, 5"}}), "GET", out),
              framing_error::none);
    EXPECT_EQ(out.kind, body_kind::length);
    EXPECT_EQ(out.length, 5u);
    EXPECT_EQ(response_framing(resp(200, {{"Content-Length", "5, 6"}}), "GET", out),
              framing_error::differing_lengths);
}

TEST(RequestFraming, DifferingContentLengthsAreRejected) {
    EXPECT_EQ(of(req({{"Content-Length", "5"}, {"Content-Length", "6"}})).error,
              framing_error::differing_lengths);
    EXPECT_EQ(of(req({{"Content-Length", "6"}, {"Content-Length", "5, 5"}})).error,
              framing_error::differing_lengths);
    EXPECT_EQ(of(req({{"Content-Length", "5"}, {"Content-Length", "05"}})).error,
              framing_error::none); // the same number
}

TEST(RequestFraming, InvalidSecondContentLengthIsRejected) {
    EXPECT_EQ(of(req({{"Content-Length", "5"}, {"Content-Length", ""}})).error,
              framing_error::bad_content_length);
    EXPECT_EQ(of(req({{"Content-Length", "5"}, {"Content-Length", "+5"}})).error,
              framing_error::bad_content_length);
}

TEST(RequestFraming, ContentLengthLineWithoutAValueAfterAValidOneIsRejected) {
    // RFC 9112 §6.3 item 5: an invalid Content-Length makes the framing invalid.
    EXPECT_EQ(of(req({{"Content-Length", "5"}, {"Content-Length", ","}})).error,
              framing_error::bad_content_length);
}

// --- requests: Transfer-Encoding --------------------------------------------------------

TEST(RequestFraming, ChunkedIsCaseInsensitive) {
    for (std::string_view v : {"chunked", "CHUNKED", "Chunked", "cHuNkEd"})
        expect_kind(of(req({{"Transfer-Encoding", v}})), body_kind::chunked);
    expect_kind(of(req({{"transfer-encoding", "chunked"}})), body_kind::chunked);
}

TEST(RequestFraming, ChunkedMustBeTheFinalAndOnlyChunked) {
    // RFC 9112 §6.3 item 4: chunked not final in a request → 400 and close.
    for (std::string_view v : {"chunked, gzip", "chunked, chunked", "chunked,chunked", "gzip",
                               "identity", "chunkedchunked", "chunked;q=1"})
        EXPECT_EQ(of(req({{"Transfer-Encoding", v}})).error, framing_error::chunked_not_last) << v;
    EXPECT_EQ(of(req({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})).error,
              framing_error::chunked_not_last);
    EXPECT_EQ(of(req({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "gzip"}})).error,
              framing_error::chunked_not_last);
}

TEST(RequestFraming, UnknownCodingBeforeChunkedIsNotImplemented) {
    // RFC 9112 §6.1: a coding ferry does not understand → 501.
    EXPECT_EQ(of(req({{"Transfer-Encoding", "gzip, chunked"}})).error,
              framing_error::unknown_coding);
    EXPECT_EQ(of(req({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}})).error,
              framing_error::unknown_coding);
}

TEST(RequestFraming, EmptyTransferEncodingIsRejected) {
    EXPECT_NE(of(req({{"Transfer-Encoding", ""}})).error, framing_error::none);
    EXPECT_NE(of(req({{"Transfer-Encoding", ","}})).error, framing_error::none);
    EXPECT_NE(of(req({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", ""}})).error,
              framing_error::none);
}

TEST(RequestFraming, TransferEncodingWithContentLengthIsRejected) {
    EXPECT_EQ(of(req({{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}})).error,
              framing_error::te_and_cl);
    EXPECT_EQ(of(req({{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}})).error,
              framing_error::te_and_cl);
    EXPECT_EQ(of(req({{"Content-Length", "0"}, {"Transfer-Encoding", "CHUNKED"}})).error,
              framing_error::te_and_cl);
    EXPECT_NE(of(req({{"Content-Length", "5"}, {"Transfer-Encoding", "identity"}})).error,
              framing_error::none);
    EXPECT_NE(of(req({{"Content-Length", "5"}, {"Transfer-Encoding", ""}})).error,
              framing_error::none);
}

TEST(RequestFraming, UnknownCodingWithContentLengthIsTheLengthConflict) {
    // desync-guardian "Multiple transfer encoding headers in a single request": a coding ferry
    // does not implement, chunked last, and a Content-Length. The length is unknowable, so
    // the answer is 400 and close (te_and_cl), not 501, in either field order.
    EXPECT_EQ(of(req({{"Transfer-Encoding", "gzip, chunked"}, {"Content-Length", "4"}})).error,
              framing_error::te_and_cl);
    EXPECT_EQ(of(req({{"Content-Length", "4"},
                      {"Transfer-Encoding", "gzip"},
                      {"Transfer-Encoding", "chunked"}}))
                  .error,
              framing_error::te_and_cl);
    EXPECT_EQ(of(req({{"Transfer-Encoding", "deflate"}, {"Content-Length", "4"}})).error,
              framing_error::chunked_not_last);
    EXPECT_EQ(
        of(resp(200, {{"Transfer-Encoding", "gzip, chunked"}, {"Content-Length", "4"}})).error,
        framing_error::te_and_cl);
}

TEST(RequestFraming, TransferEncodingInHttp10IsRejected) {
    // RFC 9112 §6.1: faulty framing; 400 and close.
    EXPECT_EQ(of(req({{"Transfer-Encoding", "chunked"}}, 0)).error, framing_error::te_in_http10);
    EXPECT_NE(of(req({{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}}, 0)).error,
              framing_error::none);
    expect_length(of(req({{"Content-Length", "3"}}, 0)), 3);
}

// --- responses --------------------------------------------------------------------------

TEST(ResponseFraming, WithoutFramingTheBodyRunsUntilClose) {
    expect_kind(of(resp(200, {})), body_kind::until_close);
    expect_kind(of(resp(200, {{"Content-Type", "text/plain"}}, 0)), body_kind::until_close);
    expect_kind(of(resp(404, {})), body_kind::until_close);
}

TEST(ResponseFraming, LengthAndChunked) {
    expect_length(of(resp(200, {{"Content-Length", "1256"}})), 1256);
    expect_kind(of(resp(200, {{"Transfer-Encoding", "chunked"}})), body_kind::chunked);
    expect_kind(of(resp(200, {{"Transfer-Encoding", "Chunked"}})), body_kind::chunked);
    expect_length(of(resp(200, {{"Content-Length", "7, 7"}})), 7);
}

TEST(ResponseFraming, HeadResponsesHaveNoBody) {
    expect_kind(of(resp(200, {{"Content-Length", "1256"}}), "HEAD"), body_kind::none);
    expect_kind(of(resp(200, {{"Transfer-Encoding", "chunked"}}), "HEAD"), body_kind::none);
    expect_kind(of(resp(200, {}), "HEAD"), body_kind::none);
}

TEST(ResponseFraming, InformationalNoContentAndNotModifiedHaveNoBody) {
    for (int status : {100, 101, 103, 199, 204, 304}) {
        expect_kind(of(resp(status, {})), body_kind::none);
        expect_kind(of(resp(status, {{"Content-Length", "10"}})), body_kind::none);
        expect_kind(of(resp(status, {{"Transfer-Encoding", "chunked"}})), body_kind::none);
    }
    for (int status : {200, 201, 205, 206, 302, 404, 500})
        EXPECT_FALSE(status_has_no_body(status)) << status;
    for (int status : {100, 101, 102, 103, 204, 304})
        EXPECT_TRUE(status_has_no_body(status));
}

TEST(ResponseFraming, ContradictoryFramingIsRejectedEvenWithoutABody) {
    // An origin that sends contradictory framing is not trusted with the connection.
    EXPECT_EQ(of(resp(204, {{"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}})).error,
              framing_error::te_and_cl);
    EXPECT_EQ(of(resp(304, {{"Content-Length", "1, 2"}})).error, framing_error::differing_lengths);
    EXPECT_EQ(of(resp(200, {{"Content-Length", "1"}, {"Content-Length", "2"}}), "HEAD").error,
              framing_error::differing_lengths);
}

TEST(ResponseFraming, AmbiguousFramingIsRejected) {
    EXPECT_EQ(of(resp(200, {{"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}})).error,
              framing_error::te_and_cl);
    EXPECT_EQ(of(resp(200, {{"Transfer-Encoding", "chunked"}}, 0)).error,
              framing_error::te_in_http10);
    EXPECT_EQ(of(resp(200, {{"Content-Length", "5, 6"}})).error, framing_error::differing_lengths);
    EXPECT_EQ(of(resp(200, {{"Content-Length", "-1"}})).error, framing_error::bad_content_length);
    EXPECT_EQ(of(resp(200, {{"Content-Length", ""}})).error, framing_error::bad_content_length);
    EXPECT_EQ(of(resp(200, {{"Transfer-Encoding", "gzip, chunked"}})).error,
              framing_error::unknown_coding);
    // RFC 9112 §6.3 item 4 lets a client read such a response until close; ferry, which may
    // reuse the connection and re-frames the body, refuses it instead.
    EXPECT_EQ(of(resp(200, {{"Transfer-Encoding", "chunked, gzip"}})).error,
              framing_error::chunked_not_last);
}

TEST(FramingError, EveryErrorHasItsOwnDescription) {
    expect_distinct_descriptions(framing_error::none, framing_error::differing_lengths);
}

} // namespace
} // namespace ferry::http

// Transfer-Encoding disguises and their relatives from published request-smuggling research
// (issue 6, part 1), as raw bytes through the real ferry. Each one is either refused (400 or
// 501, one line "ferry: <cause>", connection closed; nothing of it, nor of a request smuggled
// behind it, reaches the origin) or normalised into one message that a strict origin reads
// the same way ferry did. RFC 9112 decides which:
//   - OWS before a field value is legal and trimmed (§5.1): " chunked", "\tchunked";
//   - transfer-coding names are case-insensitive (§7): "CHUNKED" is chunked;
//   - "Transfer_Encoding" is another field name (a token): forwarded as it is, it frames
//     nothing;
//   - whitespace before the colon must be refused (§5.1), obs-fold too (§5.2), a control
//     character in a value is invalid (RFC 9110 §5.5);
//   - chunked not last, chunked twice, or TE with Content-Length: the length cannot be
//     known (§6.3) → 400; a coding ferry does not implement before chunked → 501 (§6.1).
// One ferry serves the suite; each case has its own origin and a new client connection.
#include "support/ferry_process.h"
#include "support/recording_origin.h"
#include "support/smuggling_checks.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

using namespace ferry_test;
using namespace std::literals;

namespace {

enum class outcome {
    refused,         // refused from the head: nothing reaches the origin
    refused_in_body, // the head is fine, the chunked body is not: never a complete request
    forwarded,       // one clean message at the origin
};

struct disguise {
    std::string name;
    std::string fields; // field lines after the request line and Host, each with CRLF
    std::string body;   // bytes after the head
    outcome expected;
    int status = 400;                      // refused: the status
    std::string decoded = {};              // forwarded: the body the origin must read
    std::vector<std::string> present = {}; // forwarded: "name: value" the origin must read
    std::vector<std::string> absent = {};  // forwarded: fields the origin must not read
    std::string method = "POST";
};

void PrintTo(const disguise& d, std::ostream* os) {
    *os << d.name;
}

const std::string chunked_hello = "5\r\nhello\r\n0\r\n\r\n";

std::vector<disguise> disguises() {
    const std::string te = "Transfer-Encoding: ";
    return {
        // Field-name disguises.
        {"UnderscoreName",
         "Transfer_Encoding: chunked\r\nContent-Length: 5\r\n",
         "hello",
         outcome::forwarded,
         0,
         "hello",
         {"Transfer_Encoding: chunked", "Content-Length: 5"}},
        {"UnderscoreNameWithoutLength",
         "Transfer_Encoding: chunked\r\n",
         "",
         outcome::forwarded,
         0,
         "",
         {"Transfer_Encoding: chunked"},
         {"transfer-encoding", "content-length"}},
        {"SpaceBeforeColon", "Transfer-Encoding : chunked\r\n", chunked_hello, outcome::refused},
        {"ObsFoldedValue", "Transfer-Encoding:\r\n chunked\r\n", chunked_hello, outcome::refused},
        {"ObsFoldAfterOtherCoding", te + "gzip,\r\n chunked\r\n", chunked_hello, outcome::refused},
        {"EmptyFieldName", ": chunked\r\n", chunked_hello, outcome::refused},
        {"EmptyFieldNameAlone", ": x\r\n", "", outcome::refused},
        // Value disguises.
        {"ChunkedThenIdentity", te + "chunked, identity\r\n", chunked_hello, outcome::refused},
        {"IdentityThenChunked", te + "identity, chunked\r\n", chunked_hello, outcome::refused, 501},
        {"LeadingSpace",
         te + " chunked\r\n",
         chunked_hello,
         outcome::forwarded,
         0,
         "hello",
         {"Transfer-Encoding: chunked"}},
        {"LeadingTab",
         "Transfer-Encoding:\tchunked\r\n",
         chunked_hello,
         outcome::forwarded,
         0,
         "hello",
         {"Transfer-Encoding: chunked"}},
        {"TrailingVerticalTab", te + "chunked\x0b\r\n", chunked_hello, outcome::refused},
        {"Uppercase",
         te + "CHUNKED\r\n",
         chunked_hello,
         outcome::forwarded,
         0,
         "hello",
         {"Transfer-Encoding: chunked"}},
        {"DoubledFields", te + "chunked\r\n" + te + "chunked\r\n", chunked_hello, outcome::refused},
        {"ChunkedTwiceInList", te + "chunked, chunked\r\n", chunked_hello, outcome::refused},
        {"ChunkedWithContentLengthZero", te + "chunked\r\nContent-Length: 0\r\n", chunked_hello,
         outcome::refused},
        {"ContentLengthZeroWithChunked", "Content-Length: 0\r\n" + te + "chunked\r\n",
         chunked_hello, outcome::refused},
        {"EmptyContentLength", "Content-Length: \r\n", "hello", outcome::refused},
        {"ContentLengthPlusFive", "Content-Length: +5\r\n", "hello", outcome::refused},
        // Chunk-line disguises: the head is clean, the body is not.
        {"ChunkSize20HexDigits", te + "chunked\r\n", "10000000000000000005\r\nhello\r\n0\r\n\r\n",
         outcome::refused_in_body},
        {"ChunkSize7fffffffffffffff", te + "chunked\r\n", "7fffffffffffffff\r\nhello\r\n0\r\n\r\n",
         outcome::refused_in_body},
        {"ChunkLineBareLf", te + "chunked\r\n", "5\nhello\r\n0\r\n\r\n", outcome::refused_in_body},
        {"ChunkLineBareCr", te + "chunked\r\n", "5\rhello\r\n0\r\n\r\n", outcome::refused_in_body},
        {"LastChunkLineBareLf", te + "chunked\r\n", "5\r\nhello\r\n0\n\r\n",
         outcome::refused_in_body},
        {"ChunkExtension64KiB", te + "chunked\r\n",
         "5;" + std::string(65536, 'a') + "\r\nhello\r\n0\r\n\r\n", outcome::refused_in_body},
        // Connection naming itself or Proxy-Connection: only hop-by-hop fields are dropped.
        {"ConnectionConnection",
         "Connection: connection\r\nX-Kept: 1\r\nContent-Length: 5\r\n",
         "hello",
         outcome::forwarded,
         0,
         "hello",
         {"X-Kept: 1", "Content-Length: 5"},
         {"connection"}},
        {"ConnectionProxyConnection",
         "Connection: proxy-connection\r\nProxy-Connection: keep-alive\r\nX-Kept: 1\r\n"
         "Transfer-Encoding: chunked\r\n",
         chunked_hello,
         outcome::forwarded,
         0,
         "hello",
         {"X-Kept: 1", "Transfer-Encoding: chunked"},
         {"connection", "proxy-connection"}},
        {"ConnectionNamesHopByHopAndCustom",
         "Connection: connection, proxy-connection, x-drop\r\nX-Drop: 1\r\nX-Kept: 1\r\n"
         "Keep-Alive: timeout=5\r\nTE: trailers\r\n",
         "",
         outcome::forwarded,
         0,
         "",
         {"X-Kept: 1"},
         {"connection", "proxy-connection", "x-drop", "keep-alive", "te"},
         "GET"},
        // Request line.
        {"SpaceInsideMethod", "", "", outcome::refused, 400, {}, {}, {}, "G ET"},
    };
}

class TransferEncodingDisguise : public ::testing::TestWithParam<disguise> {
protected:
    static void SetUpTestSuite() { ferry_ = std::make_unique<ferry_process>(); }
    static void TearDownTestSuite() {
        expect_clean_exit(*ferry_);
        ferry_.reset();
    }
    static std::unique_ptr<ferry_process> ferry_;
};

std::unique_ptr<ferry_process> TransferEncodingDisguise::ferry_;

bool contains_field(const recorded_request& m, std::string_view line) {
    auto colon = line.find(':');
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 2);
    for (const auto& [n, v] : m.parsed.fields)
        if (n == name && v == value) return true;
    return false;
}

TEST_P(TransferEncodingDisguise, RefusedOrNormalised) {
    const auto& d = GetParam();
    ASSERT_TRUE(ferry_->started()) << ferry_->err();
    recording_origin origin;
    const auto a = origin.authority();
    // A second request rides behind each case: it must never reach the origin when the case
    // is refused (no bytes of a refused request go anywhere).
    const std::string smuggled =
        "GET http://" + a + "/smuggled HTTP/1.1\r\nHost: " + a + "\r\n\r\n";
    const std::string request = d.method + " http://" + a + "/disguise HTTP/1.1\r\nHost: " + a +
                                "\r\n" + d.fields + "\r\n" + d.body +
                                (d.expected == outcome::forwarded ? "" : smuggled);
    SCOPED_TRACE("sent: " + printable(request, 400));
    const auto x = send_one(ferry_->port(), request);

    switch (d.expected) {
    case outcome::refused:
        expect_ferry_refusal(x, d.status);
        EXPECT_EQ(origin.connections(), 0);
        expect_nothing_forwarded_and_still_serving(*ferry_, origin, 0);
        break;
    case outcome::refused_in_body: {
        expect_ferry_refusal(x, 400);
        // ferry may have sent the head on before it met the bad chunk, then it must close
        // the upstream connection: the origin never reads a complete request.
        EXPECT_LE(origin.connections(), 1);
        EXPECT_TRUE(origin.wait_closed(origin.connections(), 3s))
            << "the upstream connection was left open after the request failed";
        const auto seen = origin.messages();
        for (const auto& m : seen) {
            EXPECT_NE(m.parsed.problem, "")
                << "a complete request reached the origin: " << printable(m.head + m.body);
            EXPECT_EQ(m.parsed.start_line.find("/smuggled"), std::string::npos);
        }
        expect_nothing_forwarded_and_still_serving(*ferry_, origin, seen.size());
        break;
    }
    case outcome::forwarded: {
        EXPECT_EQ(status_of(x.response), 200) << printable(x.response);
        const auto m = expect_one_clean_message(origin, 0, d.decoded);
        for (const auto& p : d.present)
            EXPECT_TRUE(contains_field(m, p)) << p << " missing: " << printable(m.head);
        for (const auto& name : d.absent)
            EXPECT_EQ(count_fields(m.parsed.fields, name), 0)
                << name << " forwarded: " << printable(m.head);
        break;
    }
    }
}

INSTANTIATE_TEST_SUITE_P(, TransferEncodingDisguise, ::testing::ValuesIn(disguises()),
                         [](const auto& info) { return info.param.name; });

} // namespace

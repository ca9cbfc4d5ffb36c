// access_log: the exact line each format writes for a record.
#include "observe/access_log.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::observe {

namespace {

using namespace std::chrono;

// 1700000000 is 2023-11-14T22:13:20Z.
const auto t0 = system_clock::time_point(seconds(1700000000)) + milliseconds(123);
const auto s0 = steady_clock::time_point(hours(1));

exchange_record get_record() {
    exchange_record r;
    r.connection = 7;
    r.client = "127.0.0.1:51234";
    r.started = t0;
    r.started_steady = s0;
    r.method = "GET";
    r.target = "http://example.com/";
    r.request_line = "GET http://example.com/ HTTP/1.1";
    r.user_agent = "curl/8.0";
    r.upstream = "example.com:80";
    r.upstream_address = "93.184.216.34";
    r.upstream_new = true;
    r.status = 200;
    r.status_line = "HTTP/1.1 200 OK";
    r.content_type = "text/html";
    r.body_bytes = 1000;
    r.bytes_to_client = 1234;
    r.bytes_from_client = 78;
    return r;
}

exchange_record connect_record() {
    auto r = get_record();
    r.method = "CONNECT";
    r.target = "example.com:443";
    r.request_line = "CONNECT example.com:443 HTTP/1.1";
    r.upstream = "example.com:443";
    r.status_line = "HTTP/1.1 200 Connection established";
    r.content_type.clear();
    r.body_bytes = 5000;
    r.bytes_to_client = 5039;
    r.bytes_from_client = 800;
    return r;
}

// ferry could not reach the origin and answered 502 itself.
exchange_record unreachable_record() {
    auto r = get_record();
    r.target = "http://127.0.0.1:1/";
    r.request_line = "GET http://127.0.0.1:1/ HTTP/1.1";
    r.upstream.clear();
    r.upstream_address.clear();
    r.status = 502;
    r.status_line.clear();
    r.content_type = "text/plain; charset=utf-8";
    r.body_bytes = 40;
    r.bytes_to_client = 180;
    r.cause = "ferry: cannot connect to 127.0.0.1:1: Connection refused";
    return r;
}

// A request head ferry could not parse.
exchange_record bad_request_record() {
    exchange_record r;
    r.client = "[::1]:4000";
    r.started = t0;
    r.started_steady = s0;
    r.method = "-";
    r.status = 400;
    r.bytes_to_client = 150;
    r.bytes_from_client = 9;
    r.cause = "ferry: malformed request line";
    return r;
}

std::string line(access_log_format f, const exchange_record& r,
                 steady_clock::duration took = milliseconds(45)) {
    std::string out;
    append_access_line(f, r, r.started_steady + took, out);
    return out;
}

} // namespace

TEST(AccessLogFormat, ParsesTheFourNames) {
    EXPECT_EQ(parse_access_log_format("ferry"), access_log_format::ferry);
    EXPECT_EQ(parse_access_log_format("squid"), access_log_format::squid);
    EXPECT_EQ(parse_access_log_format("combined"), access_log_format::combined);
    EXPECT_EQ(parse_access_log_format("json"), access_log_format::json);
    EXPECT_FALSE(parse_access_log_format("Squid"));
    EXPECT_FALSE(parse_access_log_format(""));
}

TEST(FerryAccessLine, IsUnchanged) {
    EXPECT_EQ(line(access_log_format::ferry, get_record(), microseconds(45250)),
              "2023-11-14T22:13:20.123Z 127.0.0.1:51234 GET http://example.com/ 200 1234 78 "
              "45.250ms\n");
    EXPECT_EQ(line(access_log_format::ferry, unreachable_record()),
              "2023-11-14T22:13:20.123Z 127.0.0.1:51234 GET http://127.0.0.1:1/ 502 180 78 "
              "45.000ms \"ferry: cannot connect to 127.0.0.1:1: Connection refused\"\n");
}

// An HTTP/2 exchange names its protocol, connection and stream (issue 15).
TEST(FerryAccessLine, Http2ExchangesNameTheirConnectionAndStream) {
    auto r = get_record();
    r.stream = 3;
    r.user = "jo";
    EXPECT_EQ(line(access_log_format::ferry, r, microseconds(45250)),
              "2023-11-14T22:13:20.123Z 127.0.0.1:51234 GET http://example.com/ 200 1234 78 "
              "45.250ms proto=h2 conn=7 stream=3 user=\"jo\"\n");
    const auto json = line(access_log_format::json, r, microseconds(45250));
    EXPECT_NE(json.find(R"("protocol":"HTTP/2","connection":7,"stream":3,)"), std::string::npos)
        << json;
}

TEST(SquidAccessLine, GetIsATcpMissWithTheOriginAddress) {
    // The time is when the exchange ended: 123 ms + 45 ms.
    EXPECT_EQ(line(access_log_format::squid, get_record()),
              "1700000000.168     45 127.0.0.1 TCP_MISS/200 1234 GET http://example.com/ - "
              "HIER_DIRECT/93.184.216.34 text/html\n");
}

TEST(SquidAccessLine, ConnectIsATunnel) {
    EXPECT_EQ(line(access_log_format::squid, connect_record(), seconds(2)),
              "1700000002.123   2000 127.0.0.1 TCP_TUNNEL/200 5039 CONNECT example.com:443 - "
              "HIER_DIRECT/93.184.216.34 -\n");
}

TEST(SquidAccessLine, FerrysOwnErrorsHaveNoHierarchy) {
    EXPECT_EQ(line(access_log_format::squid, unreachable_record()),
              "1700000000.168     45 127.0.0.1 TCP_MISS/502 180 GET http://127.0.0.1:1/ - "
              "HIER_NONE/- text/plain;%20charset=utf-8\n");
    EXPECT_EQ(line(access_log_format::squid, bad_request_record()),
              "1700000000.168     45 ::1 NONE_NONE/400 150 NONE error:invalid-request - "
              "HIER_NONE/- -\n");
}

TEST(SquidAccessLine, ResultCodes) {
    auto r = get_record();
    r.status_line.clear();
    r.status = 403;
    EXPECT_EQ(squid_result_code(r), "TCP_DENIED");
    r.status = 407;
    EXPECT_EQ(squid_result_code(r), "TCP_DENIED");
    r.status = 414;
    EXPECT_EQ(squid_result_code(r), "NONE_NONE");
    r.status = 504;
    EXPECT_EQ(squid_result_code(r), "TCP_MISS");
    r.status = 0;
    EXPECT_EQ(squid_result_code(r), "TCP_MISS_ABORTED");
    r.status_line = "HTTP/1.1 404 Not Found"; // the origin's answer
    r.status = 404;
    EXPECT_EQ(squid_result_code(r), "TCP_MISS");
    r.method = "";
    r.status = 0;
    EXPECT_EQ(squid_result_code(r), "NONE_NONE_ABORTED");
}

TEST(SquidAccessLine, UserParentAndUnsafeBytesStayInTheirFields) {
    auto r = get_record();
    r.user = "jo smith";
    r.upstream_parent = true;
    r.upstream_address = "10.0.0.1";
    r.target = "http://example.com/a\tb\x80";
    EXPECT_EQ(line(access_log_format::squid, r),
              "1700000000.168     45 127.0.0.1 TCP_MISS/200 1234 GET http://example.com/a%09b%80 "
              "jo%20smith FIRST_UP_PARENT/10.0.0.1 text/html\n");
}

TEST(CombinedAccessLine, Get) {
    auto r = get_record();
    r.referer = "http://example.com/start";
    EXPECT_EQ(line(access_log_format::combined, r),
              "127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET http://example.com/ HTTP/1.1\" "
              "200 1000 \"http://example.com/start\" \"curl/8.0\"\n");
}

TEST(CombinedAccessLine, ConnectAndFerryErrors) {
    EXPECT_EQ(line(access_log_format::combined, connect_record()),
              "127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"CONNECT example.com:443 HTTP/1.1\" "
              "200 5000 \"-\" \"curl/8.0\"\n");
    EXPECT_EQ(line(access_log_format::combined, unreachable_record()),
              "127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET http://127.0.0.1:1/ HTTP/1.1\" "
              "502 40 \"-\" \"curl/8.0\"\n");
    EXPECT_EQ(line(access_log_format::combined, bad_request_record()),
              "::1 - - [14/Nov/2023:22:13:20 +0000] \"-\" 400 0 \"-\" \"-\"\n");
}

TEST(CombinedAccessLine, EscapesQuotesAndControlBytesAsNginx) {
    auto r = get_record();
    r.user = "jo";
    r.user_agent = "evil\" \"agent\r\n\\";
    r.request_line = "GET http://example.com/\x01 HTTP/1.1";
    EXPECT_EQ(line(access_log_format::combined, r),
              "127.0.0.1 - jo [14/Nov/2023:22:13:20 +0000] \"GET http://example.com/\\x01 "
              "HTTP/1.1\" 200 1000 \"-\" \"evil\\x22 \\x22agent\\x0D\\x0A\\x5C\"\n");
}

TEST(JsonAccessLine, Get) {
    EXPECT_EQ(line(access_log_format::json, get_record(), microseconds(45250)),
              R"({"time":"2023-11-14T22:13:20.123Z","client":"127.0.0.1:51234","method":"GET",)"
              R"("target":"http://example.com/","status":200,"bytes_to_client":1234,)"
              R"("bytes_from_client":78,"body_bytes":1000,"duration_ms":45.250,)"
              R"("upstream":"example.com:80","protocol":"HTTP/1.1","connection":7,)"
              R"("user_agent":"curl/8.0","referer":null})"
              "\n");
}

TEST(JsonAccessLine, ErrorsCarryTheirCauseAndUser) {
    auto r = unreachable_record();
    r.user = "jo";
    r.user_agent.clear();
    EXPECT_EQ(line(access_log_format::json, r),
              R"({"time":"2023-11-14T22:13:20.123Z","client":"127.0.0.1:51234","method":"GET",)"
              R"("target":"http://127.0.0.1:1/","status":502,"bytes_to_client":180,)"
              R"("bytes_from_client":78,"body_bytes":40,"duration_ms":45.000,"upstream":null,)"
              R"("protocol":"HTTP/1.1","connection":7,)"
              R"("cause":"ferry: cannot connect to 127.0.0.1:1: Connection refused",)"
              R"("user":"jo","user_agent":null,"referer":null})"
              "\n");
    EXPECT_EQ(line(access_log_format::json, bad_request_record()),
              R"({"time":"2023-11-14T22:13:20.123Z","client":"[::1]:4000","method":null,)"
              R"("target":null,"status":400,"bytes_to_client":150,"bytes_from_client":9,)"
              R"("body_bytes":0,"duration_ms":45.000,"upstream":null,)"
              R"("protocol":"HTTP/1.1","connection":0,)"
              R"("cause":"ferry: malformed request line",)"
              R"("user_agent":null,"referer":null})"
              "\n");
}

TEST(JsonAccessLine, HostileBytesStayInsideTheirString) {
    auto r = get_record();
    r.target = "http://example.com/\"}\n{\"x\":1";
    r.user_agent = "a\x1b\xff";
    auto text = line(access_log_format::json, r);
    EXPECT_NE(text.find(R"("target":"http://example.com/\"}\u000a{\"x\":1")"), std::string::npos)
        << text;
    EXPECT_NE(text.find(R"("user_agent":"a\u001b\ufffd")"), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), text.size() - 1);
}

TEST(AccessLine, EveryFormatWritesOneLine) {
    auto r = get_record();
    r.target = "a\nb\rc";
    r.request_line = "GET a\nb HTTP/1.1";
    r.user_agent = "x\ny";
    r.content_type = "text/html\n";
    r.cause = "oops";
    for (auto f :
         {access_log_format::squid, access_log_format::combined, access_log_format::json}) {
        auto text = line(f, r);
        EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
        EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    }
}

} // namespace ferry::observe

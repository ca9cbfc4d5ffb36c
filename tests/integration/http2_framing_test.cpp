// HTTP/2 at the frame level (issue 15, RFC 9113), with tests/integration/h2/h2probe.py — a
// client on Debian's python3-h2 that can also break every rule on purpose — against ferry's
// plain listener with prior knowledge (--http2-cleartext on) and its TLS listener with ALPN
// h2: requests forwarded to an HTTP/1.1 origin byte-exact and translated (RFC 9113 §8.2.2,
// §8.3.1: Host from :authority, cookies joined, no connection-specific fields), several
// streams at once; every malformed request of §8.1.1, §8.2 and §8.3 reset (or the connection
// ended where the RFC makes it a connection error) and never forwarded; the stream and
// header-list limits; GOAWAY on SIGTERM with the stream in flight finished.
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/h2_python.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/recording_origin.h"
#include "support/temp_file.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sys/wait.h>
#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The probe prints CR and LF as \r and \n.
std::string unquoted(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            const char c = s[++i];
            out += c == 'r' ? '\r' : c == 'n' ? '\n' : c;
        } else {
            out += s[i];
        }
    }
    return out;
}

class Http2Framing : public ::testing::Test {
protected:
    void SetUp() override {
        if (!python_h2_installed())
            GTEST_SKIP() << "/usr/bin/python3 cannot import h2 (Debian package python3-h2)";
    }

    // ferry on a plain listener that takes the HTTP/2 preface, plus `more` options.
    std::unique_ptr<ferry_process> start_ferry(std::vector<std::string> more = {}) {
        std::vector<std::string> args{"--http2-cleartext", "on"};
        args.insert(args.end(), more.begin(), more.end());
        return std::make_unique<ferry_process>(args);
    }

    static std::string target(const ferry_process& ferry) {
        return fmt::format("127.0.0.1:{}", ferry.port());
    }
};

} // namespace

TEST_F(Http2Framing, GetsAndPostsAreForwardedByteExactManyStreamsAtOnce) {
    test_origin origin;
    auto ferry = start_ferry();
    ASSERT_TRUE(ferry->started()) << ferry->err();
    auto r = run_h2probe({target(*ferry), origin.authority(), "forward"}, 40s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
    const auto& out = r.out;
    EXPECT_NE(out.find("all-ended=True\n"), std::string::npos) << out;
    EXPECT_EQ(line_starting(out, "get "), "get status 200") << out;

    // What the origin received, as its /headers answer shows it.
    const auto head = unquoted(line_starting(out, "get-head=").substr(9));
    const auto h = lower(head);
    EXPECT_TRUE(head.starts_with("GET /headers HTTP/1.1\r\n")) << head;
    EXPECT_NE(h.find("\r\nhost: " + origin.authority() + "\r\n"), std::string::npos) << head;
    EXPECT_EQ(h.find("\r\nhost:"), h.rfind("\r\nhost:")) << "one Host field\n" << head;
    EXPECT_NE(h.find("\r\ncookie: a=1; b=2; c=3\r\n"), std::string::npos)
        << "RFC 9113 §8.2.3: cookie fields joined with \"; \"\n"
        << head;
    EXPECT_EQ(h.find("\r\ncookie:"), h.rfind("\r\ncookie:")) << head;
    EXPECT_NE(h.find("\r\nvia: 2 "), std::string::npos)
        << "RFC 9110 §7.6.3: Via names the protocol ferry received, HTTP/2\n"
        << head;
    EXPECT_NE(h.find("\r\nx-probe: kept\r\n"), std::string::npos) << head;
    EXPECT_NE(h.find("\r\nuser-agent: h2probe\r\n"), std::string::npos) << head;
    for (const char* field : {"keep-alive:", "proxy-connection:", "upgrade:", ":authority", ":path",
                              ":scheme", ":method", "http2-settings:"})
        EXPECT_EQ(h.find(std::string("\r\n") + field), std::string::npos) << field << "\n" << head;
    // A TE: trailers the client sent is hop-by-hop in HTTP/1.1 (RFC 9110 §10.1.4): only with
    // "Connection: TE" may it go on.
    if (h.find("\r\nte: trailers\r\n") != std::string::npos) {
        const auto c = h.find("\r\nconnection:");
        EXPECT_TRUE(c != std::string::npos &&
                    h.substr(c, h.find("\r\n", c + 2) - c).find("te") != std::string::npos)
            << head;
    }

    // The response as the HTTP/2 client saw it: no connection-specific field (python3-h2
    // would refuse one), and the bodies byte-exact.
    const auto fields =
        line_words(line_starting(out, "get-response-fields=")).at("get-response-fields");
    for (const char* field : {"connection", "keep-alive", "transfer-encoding", "upgrade"})
        EXPECT_EQ(("," + fields + ",").find(std::string(",") + field + ","), std::string::npos)
            << fields;
    EXPECT_EQ(line_starting(out, "post-cl "), "post-cl status 200 bytes=600000 exact=True");
    EXPECT_EQ(line_starting(out, "post-stream "), "post-stream status 200 bytes=600000 exact=True");
    EXPECT_EQ(line_starting(out, "post-empty "), "post-empty status 200 bytes=0 exact=True");
    EXPECT_EQ(line_starting(out, "size "), "size status 200 bytes=1000000");

    // Ten requests of 700 ms each on one connection at once: about one delay, not ten.
    const auto concurrent = line_starting(out, "concurrent=");
    const auto statuses = concurrent.substr(0, concurrent.find(" seconds="));
    std::string ten_200s = "concurrent=status 200";
    for (int i = 1; i < 10; ++i)
        ten_200s += ",status 200";
    EXPECT_EQ(statuses, ten_200s);
    const double seconds = std::stod(line_words(concurrent).at("seconds"));
    EXPECT_LT(seconds, 3.0) << concurrent;

    // The access log names the protocol, the connection and the stream.
    const auto line = wait_for_line(
        *ferry, {"GET " + origin.url("/headers"), " 200 ", " proto=h2", " conn=", " stream="});
    EXPECT_FALSE(line.empty()) << ferry->out();
    EXPECT_FALSE(
        wait_for_line(*ferry, {"POST " + origin.url("/echo"), " 200 ", " proto=h2"}).empty())
        << ferry->out();
}

// RFC 9113 §8.1.1: a malformed request is a stream error PROTOCOL_ERROR (a server MAY answer
// first, e.g. with 400) and an intermediary MUST NOT forward it; §5.1.1, §6.2 and §4.2 make a
// HEADERS frame on stream 0 or an even stream, a frame above SETTINGS_MAX_FRAME_SIZE and a
// frame after END_STREAM connection errors. Each case on a fresh connection, the request's
// path naming the case, so the origin's record tells whether it arrived.
TEST_F(Http2Framing, MalformedRequestsAreResetAndNeverForwarded) {
    recording_origin origin;
    auto ferry = start_ferry();
    ASSERT_TRUE(ferry->started()) << ferry->err();
    auto r = run_h2probe({target(*ferry), origin.authority(), "malformed"}, 120s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
    const auto outcomes = outcomes_by_name(r.out);
    ASSERT_GE(outcomes.size(), 30u) << r.out;

    const std::map<std::string, std::set<std::string>> connection_errors{
        {"headers-on-stream-0", {"GOAWAY PROTOCOL_ERROR"}},
        {"even-stream-id", {"GOAWAY PROTOCOL_ERROR"}},
        {"oversized-data-frame", {"GOAWAY FRAME_SIZE_ERROR"}},
        {"oversized-headers-frame", {"GOAWAY FRAME_SIZE_ERROR"}},
        // §5.1 half-closed (remote): a stream error; §5.1 closed: a connection error.
        {"data-after-end-stream", {"GOAWAY STREAM_CLOSED", "RST_STREAM STREAM_CLOSED"}},
        // Ten bytes of ten went to the origin, which may have answered, before the excess.
        {"content-length-data-in-two",
         {"RST_STREAM PROTOCOL_ERROR", "status 200 RST_STREAM PROTOCOL_ERROR",
          "status 200 RST_STREAM NO_ERROR", "status 400", "status 400 RST_STREAM PROTOCOL_ERROR"}},
        {"te-trailers-allowed", {"status 200"}},
    };
    for (const auto& [name, rest] : outcomes) {
        const auto words = line_words(rest);
        const auto outcome = rest.substr(0, rest.find(" origin="));
        const auto it = connection_errors.find(name);
        if (it != connection_errors.end()) {
            EXPECT_TRUE(it->second.contains(outcome)) << name << ": " << outcome;
        } else {
            EXPECT_TRUE(outcome == "RST_STREAM PROTOCOL_ERROR" || outcome == "status 400" ||
                        outcome == "status 400 RST_STREAM PROTOCOL_ERROR")
                << name << ": " << outcome << " (RST_STREAM PROTOCOL_ERROR expected)";
        }
    }

    // Give ferry time to close an upstream connection it abandoned mid-body.
    std::this_thread::sleep_for(500ms);
    const auto messages = origin.messages();
    for (const auto& [name, rest] : outcomes) {
        const auto reach = line_words(rest)["origin"];
        const std::string marker = "/malformed/" + name + " ";
        int seen = 0, complete = 0;
        for (const auto& m : messages) {
            if (m.parsed.start_line.find(marker) == std::string::npos) continue;
            ++seen;
            if (m.parsed.problem.empty()) ++complete;
            EXPECT_EQ(m.decoded.find('y'), std::string::npos)
                << name << ": the excess reached the origin\n"
                << printable(m.head + m.body);
        }
        if (reach == "never") {
            EXPECT_EQ(seen, 0) << name << " reached the origin";
        } else if (reach == "incomplete") {
            EXPECT_EQ(complete, 0) << name << " reached the origin as a complete request";
        } else if (reach == "complete") {
            EXPECT_EQ(complete, 1) << name << " did not reach the origin";
        }
    }
    EXPECT_TRUE(ferry->running());
    // The access log gives a cut exchange its real cause, never a shutdown that did not
    // happen.
    const auto cut = wait_for_line(*ferry, {"/malformed/content-length-less "}, 2s);
    EXPECT_FALSE(cut.empty()) << ferry->out();
    EXPECT_EQ(ferry->out().find("shutting down"), std::string::npos) << cut;
}

// RFC 9113 §5.1.2: a HEADERS frame beyond the advertised SETTINGS_MAX_CONCURRENT_STREAMS is a
// stream error (PROTOCOL_ERROR or REFUSED_STREAM): the streams within the limit finish, and
// the connection carries the next request once they are done.
TEST_F(Http2Framing, StreamsBeyondTheConcurrentLimitAreRefused) {
    test_origin origin;
    auto ferry = start_ferry({"--http2-max-concurrent-streams", "4"});
    ASSERT_TRUE(ferry->started()) << ferry->err();
    // "noack": the client opens its streams before acknowledging ferry's SETTINGS (the limit
    // is pending): the excess is refused and the connection goes on.
    {
        auto r =
            run_h2probe({target(*ferry), origin.authority(), "concurrency", "4", "noack"}, 30s);
        ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
        const auto& out = r.out;
        EXPECT_NE(out.find("advertised=4\n"), std::string::npos) << out;
        for (int s : {1, 3, 5, 7})
            EXPECT_EQ(line_starting(out, fmt::format("stream {} ", s)),
                      fmt::format("stream {} status 200 body=slow\\n", s))
                << out;
        for (int s : {9, 11}) {
            const auto line = line_starting(out, fmt::format("stream {} ", s));
            EXPECT_TRUE(line.ends_with(" RST_STREAM REFUSED_STREAM") ||
                        line.ends_with(" RST_STREAM PROTOCOL_ERROR"))
                << line << "\n"
                << out;
        }
        EXPECT_NE(out.find("goaway=none\n"), std::string::npos) << out;
        EXPECT_NE(out.find("later status 200\n"), std::string::npos) << out;
    }
    // "ack": the client acknowledged the limit and still exceeds it. RFC 9113 §5.1.2 asks for
    // a stream error; nghttp2 (as in nghttpx) makes it a connection error, PROTOCOL_ERROR,
    // before ferry sees the stream. ferry keeps that (docs/architecture.md, "HTTP/2"): the
    // client is told why, and another connection is served.
    {
        auto r = run_h2probe({target(*ferry), origin.authority(), "concurrency", "4", "ack"}, 30s);
        ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
        EXPECT_NE(r.out.find("goaway=PROTOCOL_ERROR"), std::string::npos) << r.out;
        auto again = run_h2probe({target(*ferry), origin.authority(), "get", "/slow/10"}, 30s);
        EXPECT_NE(again.out.find("get status 200"), std::string::npos) << again.out << again.err;
    }
}

// SETTINGS_MAX_HEADER_LIST_SIZE (default 65536) is advertised; a request above it gets 431
// (RFC 6585) and is not forwarded; one below it is served on the same connection.
TEST_F(Http2Framing, AHeaderListAboveTheLimitGets431) {
    recording_origin origin;
    auto ferry = start_ferry();
    ASSERT_TRUE(ferry->started()) << ferry->err();
    auto big = run_h2probe({target(*ferry), origin.authority(), "header-list", "70000"});
    ASSERT_EQ(big.exit_code(), 0) << big.out << big.err << "\nferry:\n" << ferry->err();
    EXPECT_NE(big.out.find("advertised=65536\n"), std::string::npos) << big.out;
    EXPECT_NE(big.out.find(" status 431\n"), std::string::npos) << big.out;
    EXPECT_NE(big.out.find("after status 200\n"), std::string::npos) << big.out;
    auto fits = run_h2probe({target(*ferry), origin.authority(), "header-list", "60000"});
    ASSERT_EQ(fits.exit_code(), 0) << fits.out << fits.err;
    EXPECT_NE(fits.out.find(" status 200\n"), std::string::npos) << fits.out;
    int forwarded_big = 0, forwarded_fits = 0;
    for (const auto& m : origin.messages()) {
        forwarded_big += m.parsed.start_line.find("/header-list/70000") != std::string::npos;
        forwarded_fits += m.parsed.start_line.find("/header-list/60000") != std::string::npos;
    }
    EXPECT_EQ(forwarded_big, 0);
    EXPECT_EQ(forwarded_fits, 1);
}

// The TLS listener offers h2 by ALPN (and only http/1.1 with --http2 off).
TEST_F(Http2Framing, TheTlsListenerSpeaksH2WhenAlpnChoosesIt) {
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    test_origin origin;
    for (const bool on : {true, false}) {
        SCOPED_TRACE(on ? "http2 on" : "http2 off");
        auto args = files.https_args();
        if (!on) args.insert(args.end(), {"--http2", "off"});
        ferry_process ferry(args, false);
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto r = run_h2probe({"--tls", files.ca(), fmt::format("127.0.0.1:{}", ferry.port()),
                              origin.authority(), "alpn"});
        ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry.err();
        if (on) {
            EXPECT_EQ(r.out, "alpn=h2\nget status 200 body=hello\\n\n");
            EXPECT_FALSE(
                wait_for_line(ferry, {"GET " + origin.url("/over-tls"), " 200 ", " proto=h2"})
                    .empty())
                << ferry.out();
        } else {
            EXPECT_EQ(r.out, "alpn=http/1.1\n");
        }
    }
}

// SIGTERM: GOAWAY(NO_ERROR) naming the last stream ferry took, that stream finishes, and
// then ferry closes the connection.
TEST_F(Http2Framing, SigtermSendsGoawayAndTheStreamInFlightFinishes) {
    test_origin origin;
    auto ferry = start_ferry();
    ASSERT_TRUE(ferry->started()) << ferry->err();
    auto r = run_h2probe(
        {target(*ferry), origin.authority(), "drain", std::to_string(ferry->pid())}, 20s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
    EXPECT_NE(r.out.find("stream status 200 body=slow\\n\n"), std::string::npos) << r.out;
    // One GOAWAY(NO_ERROR, 1), or first one naming 2^31-1 as RFC 9113 §6.8 allows (nghttpx).
    const auto goaways = line_words(line_starting(r.out, "goaways=")).at("goaways");
    EXPECT_TRUE(goaways == "NO_ERROR/1" || goaways == "NO_ERROR/2147483647,NO_ERROR/1") << r.out;
    EXPECT_NE(r.out.find("connection=closed\n"), std::string::npos) << r.out;
    // ferry exits by itself once the drain is done (signal 0: no second stop signal).
    const int status = ferry->stop(0, 10s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry->err();
}

// SIGHUP: the same — GOAWAY(NO_ERROR) and the stream in flight finishes — and ferry goes on
// serving HTTP/2 on a new connection.
TEST_F(Http2Framing, ReloadSendsGoawayAndANewConnectionIsServed) {
    test_origin origin;
    temp_file config("listen = [\"127.0.0.1:0\"]\nhttp2_cleartext = true\n");
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = run_h2probe({target(ferry), origin.authority(), "drain", std::to_string(ferry.pid()),
                          std::to_string(SIGHUP)},
                         20s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry.err();
    EXPECT_NE(r.out.find("stream status 200 body=slow\\n\n"), std::string::npos) << r.out;
    const auto goaways = line_words(line_starting(r.out, "goaways=")).at("goaways");
    EXPECT_TRUE(goaways == "NO_ERROR/1" || goaways == "NO_ERROR/2147483647,NO_ERROR/1") << r.out;
    EXPECT_TRUE(ferry.running()) << ferry.err();
    auto again = run_h2probe({target(ferry), origin.authority(), "get", "/after-reload"});
    EXPECT_EQ(again.out, "get status 200 body=hello\\n\n") << again.err << ferry.err();
}

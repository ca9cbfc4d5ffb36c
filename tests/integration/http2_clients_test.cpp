// Real HTTP/2 clients through ferry's https:// listener (ALPN h2): Node's http2 module
// (tests/integration/h2clients/client.js, which starts the loopback origins it talks to in
// the same process and prints what it saw as key=value lines). CONNECT streams many at once,
// half-close by END_STREAM, the connect_ports rule, forwarded requests (:scheme http), RFC 8441
// extended CONNECT to a WebSocket origin, a chain to a parent ferry over HTTP/1.1, and what
// the access log, the flow log and /metrics say about HTTP/2 exchanges.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <sys/wait.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* node = "/usr/bin/node";

std::string client_script() {
    return std::string(FERRY_SOURCE_DIR) + "/tests/integration/h2clients/client.js";
}

// Whether Node with its http2 module is here (Debian package nodejs).
bool node_has_http2() {
    static const bool ok = ::access(node, X_OK) == 0 &&
                           run_program({node, "-e", "require('http2')"}, 10s).exit_code() == 0;
    return ok;
}

#define REQUIRE_NODE()                                                                             \
    if (!node_has_http2())                                                                         \
    GTEST_SKIP() << node << " with its http2 module is missing (Debian package nodejs)"

// One run of client.js: its key=value lines, and everything it printed for failure messages.
struct node_run {
    command_result result;
    std::map<std::string, std::string> values;

    std::string operator[](const std::string& key) const {
        auto it = values.find(key);
        return it == values.end() ? "" : it->second;
    }
    long number(const std::string& key) const {
        const auto v = (*this)[key];
        return v.empty() ? -1 : std::stol(v);
    }
    bool ok() const { return result.exit_code() == 0 && (*this)["done"] == "1"; }
    std::string show() const {
        return fmt::format("node exit {}\nstdout:\n{}\nstderr:\n{}", result.exit_code(),
                           printable(result.out, 3000), tail(result.err));
    }
};

node_run run_node(const std::string& scenario, const tls_files& files, int proxy_port,
                  const std::vector<std::string>& more, int limit_seconds = 20) {
    std::vector<std::string> argv = {node,
                                     client_script(),
                                     scenario,
                                     fmt::format("proxy={}", proxy_port),
                                     "ca=" + files.ca(),
                                     fmt::format("limit={}", limit_seconds)};
    argv.insert(argv.end(), more.begin(), more.end());
    node_run run;
    run.result = run_program(argv, std::chrono::seconds(limit_seconds + 5));
    for (const auto& line : lines_of(run.result.out)) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) run.values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return run;
}

// ferry on an https:// listener with the test certificate, its access log on stdout written
// at once, an admin listener, and `more`.
std::vector<std::string> https_ferry_args(const tls_files& files,
                                          const std::vector<std::string>& more) {
    auto args = files.https_args();
    args.insert(args.end(), {"--log-flush-interval", "0", "--admin-listen", "127.0.0.1:0"});
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// An HTTP/2 exchange's access-log line ends with " proto=h2 conn=C stream=S" (before a user
// and a quoted cause).
struct h2_fields {
    bool found = false;
    long connection = -1, stream = -1;
};
h2_fields h2_fields_of(const std::string& line) {
    static const std::regex fields(R"( proto=h2 conn=(\d+) stream=(\d+)(?: |$))");
    std::smatch m;
    h2_fields f;
    if (std::regex_search(line, m, fields)) {
        f.found = true;
        f.connection = std::stol(m.str(1));
        f.stream = std::stol(m.str(2));
    }
    return f;
}

// The complete stdout lines containing `needle`, once there are at least `count` of them
// (or what there is after 5 s).
std::vector<std::string> lines_with(const ferry_process& ferry, const std::string& needle,
                                    std::size_t count) {
    std::vector<std::string> found;
    eventually(
        [&] {
            found.clear();
            for (const auto& line : lines_of(ferry.out()))
                if (line.find(needle) != std::string::npos) found.push_back(line);
            return found.size() >= count;
        },
        5s);
    return found;
}

std::set<long> numbers_in(const std::string& list) {
    std::set<long> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.insert(std::stol(item));
    return out;
}

} // namespace

TEST(Http2Clients, FiftyConnectStreamsAtOnceOnOneConnectionAreByteExactBothWays) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int echo = unused_port();
    ferry_process ferry(https_ferry_args(files, {"--connect-ports", std::to_string(echo)}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // 50 streams, stream i sending 64 KiB + i bytes of its own pattern and then END_STREAM.
    const auto run = run_node("tunnels", files, ferry.port(),
                              {fmt::format("echo={}", echo), "streams=50", "size=65536"});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["alpn"], "h2");
    EXPECT_EQ(run["streams"], "50");
    EXPECT_EQ(run["exact"], "50") << run.show();
    EXPECT_EQ(run["bytes_back"], run["bytes_sent"]);

    // One access-log line per stream, all on one connection, each naming its stream.
    const auto lines = lines_with(ferry, fmt::format(" CONNECT 127.0.0.1:{} 200 ", echo), 50);
    ASSERT_EQ(lines.size(), 50u) << ferry.out();
    std::set<long> connections, streams;
    for (const auto& line : lines) {
        const auto f = h2_fields_of(line);
        EXPECT_TRUE(f.found) << line;
        connections.insert(f.connection);
        streams.insert(f.stream);
    }
    EXPECT_EQ(connections.size(), 1u) << ferry.out();
    EXPECT_EQ(streams, numbers_in(run["stream_ids"])) << ferry.out();

    const int admin = admin_port(ferry);
    ASSERT_NE(admin, 0) << ferry.out();
    const auto page = admin_get(admin, "GET /metrics HTTP/1.1");
    EXPECT_EQ(metric(page, "ferry_http2_connections_total"), 1) << page;
    EXPECT_EQ(metric(page, R"(ferry_exchanges_total{protocol="h2"})"), 50) << page;
    EXPECT_EQ(metric(page, "ferry_http2_streams_total"), 50) << page;
    EXPECT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_http2_streams_open") == 0; }))
        << admin_get(admin, "GET /metrics HTTP/1.1");
}

// The limits reach the client as SETTINGS, and a client that honours them gets every stream
// through: Node (nghttp2) holds back the streams over SETTINGS_MAX_CONCURRENT_STREAMS until
// others end, so 30 tunnels with a limit of 10 all succeed and none is refused.
TEST(Http2Clients, TheLimitsReachTheClientAsSettingsAndAnHonouringClientGetsEveryStream) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int echo = unused_port();
    ferry_process ferry(
        https_ferry_args(files,
                         {"--connect-ports", std::to_string(echo), "--http2-max-concurrent-streams",
                          "10", "--http2-stream-window", "100000", "--http2-max-frame-size",
                          "32768", "--http2-max-header-list-size", "20000"}),
        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node("tunnels", files, ferry.port(),
                              {fmt::format("echo={}", echo), "streams=30", "size=200000"});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["settings"], "maxConcurrentStreams:10,initialWindowSize:100000,"
                               "maxFrameSize:32768,maxHeaderListSize:20000,"
                               "enableConnectProtocol:true");
    EXPECT_EQ(run["exact"], "30") << run.show();
    const int admin = admin_port(ferry);
    const auto page = admin_get(admin, "GET /metrics HTTP/1.1");
    EXPECT_EQ(metric(page, R"(ferry_exchanges_total{protocol="h2"})"), 30) << page;
    // No stream refused: the sample is 0 or not shown.
    EXPECT_LE(metric(page, R"(ferry_http2_resets_total{side="ferry",reason="refused_stream"})"), 0)
        << page;
}

TEST(Http2Clients, AClientThatEndsItsSideOfATunnelStillReadsTheOriginsRest) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int drain = unused_port();
    ferry_process ferry(https_ferry_args(files, {"--connect-ports", std::to_string(drain)}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // The client sends 1 MiB and END_STREAM; the origin reads to its end of input and only
    // then answers a summary and 256 KiB, and closes.
    const auto run = run_node("halfclose", files, ferry.port(), {fmt::format("drain={}", drain)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["summary"], run["expected_summary"]);
    EXPECT_EQ(run["rest_bytes"], "262144");
    EXPECT_EQ(run["rest_exact"], "true");
    const auto line = wait_for_line(ferry, {fmt::format(" CONNECT 127.0.0.1:{} 200 ", drain)});
    EXPECT_TRUE(h2_fields_of(line).found) << ferry.out();
}

TEST(Http2Clients, AnOriginThatEndsItsSideFirstStillGetsEverythingTheClientSendsAfter) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int first = unused_port();
    ferry_process ferry(https_ferry_args(files, {"--connect-ports", std::to_string(first)}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // The origin sends "hello" and its FIN at once; the client reads it to END_STREAM, then
    // sends 512 KiB and END_STREAM, which the origin must get whole, and then its end of input.
    // (Apache httpd 2.4.71 never passes the origin's FIN on as END_STREAM here.)
    const auto run = run_node("originfirst", files, ferry.port(), {fmt::format("first={}", first)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["greeting"], "hello");
    EXPECT_EQ(run["origin_got"], run["expected"]);
    const auto line = wait_for_line(ferry, {fmt::format(" CONNECT 127.0.0.1:{} 200 ", first)});
    EXPECT_TRUE(h2_fields_of(line).found) << ferry.out();
}

TEST(Http2Clients, AConnectStreamToAPortNotAllowedGets403WithAOneLineBody) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int echo = unused_port();
    const int refused = unused_port();
    const int closed = unused_port(); // allowed, but nothing listens there
    ferry_process ferry(
        https_ferry_args(files, {"--connect-ports", fmt::format("{},{}", echo, closed)}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node("refused", files, ferry.port(),
                              {fmt::format("target=127.0.0.1:{}", refused),
                               fmt::format("closed={}", closed), fmt::format("echo={}", echo)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["status"], "403");
    EXPECT_EQ(run["content_type"].rfind("text/plain", 0), 0u) << run["content_type"];
    // The body, JSON-quoted by the script: one line "ferry: <cause>\n" naming the port.
    static const std::regex one_line(R"re(^"ferry: [^\\]*\\n"$)re");
    EXPECT_TRUE(std::regex_match(run["body"], one_line)) << run["body"];
    EXPECT_NE(run["body"].find(std::to_string(refused)), std::string::npos) << run["body"];
    // An allowed port where nothing listens: 502, one line naming the peer.
    EXPECT_EQ(run["closed_status"], "502");
    EXPECT_TRUE(std::regex_match(run["closed_body"], one_line)) << run["closed_body"];
    EXPECT_NE(run["closed_body"].find(std::to_string(closed)), std::string::npos)
        << run["closed_body"];
    // The connection goes on: a tunnel to an allowed port after the refusals.
    EXPECT_EQ(run["after"], "after");

    const auto line = wait_for_line(ferry, {fmt::format(" CONNECT 127.0.0.1:{} 403 ", refused)});
    EXPECT_TRUE(h2_fields_of(line).found) << ferry.out();
    const int admin = admin_port(ferry);
    EXPECT_EQ(fetch_metric(admin, "ferry_http2_connections_total"), 1);
    EXPECT_EQ(fetch_metric(admin, R"(ferry_exchanges_total{protocol="h2"})"), 3);
}

TEST(Http2Clients, AnIdleConnectStreamEndsAfterTheTunnelIdleTimeoutAndTheConnectionGoesOn) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int echo = unused_port();
    ferry_process ferry(https_ferry_args(files, {"--connect-ports", std::to_string(echo),
                                                 "--tunnel-idle-timeout", "1"}),
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node("idle", files, ferry.port(), {fmt::format("echo={}", echo)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    // Ended (by END_STREAM or RST_STREAM: idle_end says which) after about a second...
    EXPECT_FALSE(run["idle_end"].empty());
    EXPECT_GE(run.number("idle_ms"), 700) << run.show();
    EXPECT_LE(run.number("idle_ms"), 4000) << run.show();
    // ...and the connection still carries a new tunnel.
    EXPECT_EQ(run["after"], "again");
    const auto line = wait_for_line(
        ferry, {fmt::format(" CONNECT 127.0.0.1:{} 200 ", echo), "tunnel idle timeout"});
    EXPECT_TRUE(h2_fields_of(line).found) << ferry.out();
}

TEST(Http2Clients, ForwardedRequestsReachTheHttp1OriginTranslatedAndMultiplexed) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin = unused_port();
    ferry_process ferry(https_ferry_args(files, {}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node("get", files, ferry.port(), {fmt::format("http={}", origin)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    // GET with :scheme http: origin-form, Host from :authority, Via, cookies joined, no
    // connection-specific fields.
    EXPECT_EQ(run["get_status"], "200");
    EXPECT_EQ(run["origin_request"], "GET /echo?q=1 HTTP/1.1");
    EXPECT_EQ(run["origin_host"], fmt::format("127.0.0.1:{}", origin));
    EXPECT_NE(run["origin_via"].find("ferry"), std::string::npos) << run.show();
    EXPECT_EQ(run["origin_cookie"], "c1=1; c2=2");
    EXPECT_EQ(run["origin_x_test"], "h2");
    EXPECT_NE(run["get_via"].find("ferry"), std::string::npos) << run.show();
    EXPECT_EQ(run["get_set_cookie"], R"(["a=1","b=2"])");
    // 2 MiB down byte-exact, with the origin's Connection/Keep-Alive left out of the h2
    // response (Node would refuse the stream otherwise).
    EXPECT_EQ(run["big_status"], "200");
    EXPECT_EQ(run["big_exact"], "true");
    EXPECT_EQ(run["big_connection_header"], "absent");
    EXPECT_EQ(run["big_keep_alive_header"], "absent");
    EXPECT_EQ(run["big_content_length"], "2097152");
    // 1 MiB + 7 up (POST, DATA frames without content-length).
    EXPECT_EQ(run["post_status"], "200");
    EXPECT_EQ(run["post_answer"], run["post_expected"]);
    // 40 requests at once, each held 300 ms by the origin, on one connection: together well
    // under the 12 s they would take one after the other.
    EXPECT_EQ(run["many_ok"], "40");
    EXPECT_LT(run.number("many_ms"), 6000) << run.show();

    const auto lines = lines_with(ferry, fmt::format(" http://127.0.0.1:{}/", origin), 43);
    ASSERT_EQ(lines.size(), 43u) << ferry.out();
    std::set<long> connections, streams;
    for (const auto& line : lines) {
        const auto f = h2_fields_of(line);
        EXPECT_TRUE(f.found) << line;
        connections.insert(f.connection);
        streams.insert(f.stream);
    }
    EXPECT_EQ(connections.size(), 1u) << ferry.out();
    EXPECT_EQ(streams, numbers_in(run["stream_ids"])) << ferry.out();
    EXPECT_FALSE(
        wait_for_line(ferry, {fmt::format(" GET http://127.0.0.1:{}/echo?q=1 200 ", origin)})
            .empty())
        << ferry.out();
}

// A client that stops reading one 32 MiB response: ferry holds that origin back (what the
// origin got rid of is bounded by the stream window, ferry's buffer and the loopback socket
// buffers: ~4.3 MB here, the same as through Apache httpd), 20 other requests on the same
// connection are answered meanwhile, and after resuming every byte arrives.
TEST(Http2Clients, AStreamWhoseReaderStopsHoldsItsOriginBackButNotTheOtherStreams) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin = unused_port();
    ferry_process ferry(https_ferry_args(files, {}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run =
        run_node("slow", files, ferry.port(), {fmt::format("http={}", origin), "size=33554432"});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["others_ok"], "20") << run.show();
    EXPECT_LT(run.number("others_ms"), 1500) << run.show();
    EXPECT_LT(run.number("held_streamed"), 8 * 1024 * 1024) << run.show();
    EXPECT_EQ(run["received"], "33554432");
    EXPECT_EQ(run["exact"], "true");
}

TEST(Http2Clients, ProxyCredentialsOnEachStreamAre407WithoutAnd200With) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const auto htpasswd = files.path("htpasswd");
    ASSERT_EQ(shell_output("printf 'alice:%s\\n' \"$(openssl passwd -apr1 secret)\" > '" +
                           htpasswd + "' && echo ok"),
              "ok");
    const int echo = unused_port();
    const int origin = unused_port();
    ferry_process ferry(
        https_ferry_args(files, {"--connect-ports", std::to_string(echo), "--htpasswd", htpasswd}),
        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node(
        "auth", files, ferry.port(),
        {fmt::format("echo={}", echo), fmt::format("http={}", origin), "user=alice:secret"});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["noauth_status"], "407");
    EXPECT_EQ(run["noauth_challenge"].rfind("Basic realm=", 0), 0u) << run["noauth_challenge"];
    EXPECT_EQ(run["noauth_body"], R"("ferry: proxy authentication required\n")");
    EXPECT_EQ(run["noauth_connect_status"], "407");
    EXPECT_EQ(run["auth_status"], "200");
    EXPECT_EQ(run["auth_tunnel"], "in");
    // The credentials are ferry's: never forwarded.
    EXPECT_EQ(run["origin_header_names"].find("proxy-authorization"), std::string::npos)
        << run["origin_header_names"];
    const auto line = wait_for_line(ferry, {fmt::format(" CONNECT 127.0.0.1:{} 200 ", echo)});
    EXPECT_NE(line.find(" proto=h2 "), std::string::npos) << line;
    EXPECT_NE(line.find(" user=\"alice\""), std::string::npos) << line;
}

// SIGTERM while three requests and a tunnel are in flight on one connection: Node gets
// GOAWAY(NO_ERROR) naming the last stream, may open no new stream, and every stream in flight
// finishes; then ferry exits.
TEST(Http2Clients, DrainSendsGoawayAndLetsTheStreamsInFlightFinish) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int echo = unused_port();
    const int origin = unused_port();
    ferry_process ferry(https_ferry_args(files, {"--connect-ports", std::to_string(echo)}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node("drain", files, ferry.port(),
                              {fmt::format("echo={}", echo), fmt::format("http={}", origin),
                               fmt::format("pid={}", ferry.pid())});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    const auto ids = numbers_in(run["held_ids"]);
    ASSERT_EQ(ids.size(), 3u) << run.show();
    EXPECT_EQ(run["goaway"], fmt::format("0:{}", *ids.rbegin())); // NO_ERROR, last stream id
    EXPECT_EQ(run["after_goaway"], "ERR_HTTP2_GOAWAY_SESSION");
    EXPECT_EQ(run["held"], "200:0,200:1,200:2");
    EXPECT_EQ(run["tunnel"], "still");
    // Node has sent SIGTERM already: stop(0) only waits for the exit, which comes once the
    // streams are done, long before --shutdown-timeout (10 s).
    const auto waited = std::chrono::steady_clock::now();
    const int status = ferry.stop(0, 8s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
    EXPECT_LT(std::chrono::steady_clock::now() - waited, 5s);
    EXPECT_NE(ferry.out().find("Shutting down proxy server"), std::string::npos) << ferry.out();
}

TEST(Http2Clients, ExtendedConnectWithProtocolWebsocketReachesAWebSocketOrigin) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin = unused_port();
    ferry_process ferry(https_ferry_args(files, {}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto run = run_node("websocket", files, ferry.port(), {fmt::format("http={}", origin)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    EXPECT_EQ(run["enable_connect_protocol"], "true"); // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
    EXPECT_EQ(run["status"], "200") << run.show();
    // The origin got an HTTP/1.1 WebSocket handshake (ferry makes the Sec-WebSocket-Key).
    EXPECT_EQ(run["origin_request"], "GET /chat HTTP/1.1");
    for (const auto* name :
         {"host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"})
        EXPECT_NE(("," + run["origin_header_names"] + ",").find(std::string(",") + name + ","),
                  std::string::npos)
            << name << " missing: " << run["origin_header_names"];
    // A text and a 70000-byte binary message echoed, then the close handshake.
    EXPECT_EQ(run["messages"], "2");
    EXPECT_EQ(run["first"], "1:echo:hello");
    EXPECT_EQ(run["second_exact"], "true");
    EXPECT_EQ(run["close_echoed"], "true");
    const auto line = wait_for_line(ferry, {fmt::format("127.0.0.1:{}", origin), " proto=h2 "});
    EXPECT_FALSE(line.empty()) << ferry.out();
}

// The issue's "curl through ferry → ferry": Debian 12's curl (7.88) has no --proxy-http2, and
// an HTTP/2 parent is not required, so the chain is an HTTP/2 client → ferry A (h2) → parent
// ferry B (HTTP/1.1) → origin, for forwarded requests and CONNECT streams; and curl (HTTP/1.1)
// through the same two.
TEST(Http2Clients, ThroughAParentFerryOverHttp1) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin = unused_port();
    const int echo = unused_port();
    ferry_process parent({"--log-flush-interval", "0", "--connect-ports", std::to_string(echo)});
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process front(https_ferry_args(files, {"--connect-ports", std::to_string(echo),
                                                 "--parent", parent.proxy_url()}),
                        false);
    ASSERT_TRUE(front.started()) << front.err();

    const auto tunnels = run_node("tunnels", files, front.port(),
                                  {fmt::format("echo={}", echo), "streams=8", "size=100000"});
    ASSERT_TRUE(tunnels.ok()) << tunnels.show() << "\nfront:\n" << tail(front.err());
    EXPECT_EQ(tunnels["exact"], "8") << tunnels.show();
    const auto get = run_node("one", files, front.port(), {fmt::format("http={}", origin)});
    ASSERT_TRUE(get.ok()) << get.show() << "\nfront:\n" << tail(front.err());
    EXPECT_EQ(get["status"], "200");
    EXPECT_EQ(get["origin_request"], "GET /echo?q=1 HTTP/1.1");
    // Both ferries are on the way: two Via entries.
    const auto via = get["origin_via"];
    EXPECT_EQ(std::count(via.begin(), via.end(), ','), 1) << via;

    // The front logs h2 exchanges, the parent plain HTTP/1.1 ones.
    EXPECT_EQ(lines_with(front, fmt::format(" CONNECT 127.0.0.1:{} 200 ", echo), 8).size(), 8u)
        << front.out();
    const auto parent_connects =
        lines_with(parent, fmt::format(" CONNECT 127.0.0.1:{} 200 ", echo), 8);
    EXPECT_EQ(parent_connects.size(), 8u) << parent.out();
    for (const auto& line : parent_connects)
        EXPECT_FALSE(h2_fields_of(line).found) << line;
    const auto front_get =
        wait_for_line(front, {fmt::format(" GET http://127.0.0.1:{}/echo?q=1 200 ", origin)});
    EXPECT_TRUE(h2_fields_of(front_get).found) << front.out();
    const auto parent_get =
        wait_for_line(parent, {fmt::format(" GET http://127.0.0.1:{}/echo?q=1 200 ", origin)});
    EXPECT_FALSE(parent_get.empty()) << parent.out();
    EXPECT_FALSE(h2_fields_of(parent_get).found) << parent_get;

    // curl (HTTP/1.1 to the proxy: no --proxy-http2 before 8.1) through the same two.
    test_origin web;
    const auto curl = run_program({"curl", "-s", "-w", " %{http_code} %{http_version}", "--proxy",
                                   fmt::format("https://127.0.0.1:{}", front.port()),
                                   "--proxy-cacert", files.ca(), web.url("/hello")},
                                  15s);
    EXPECT_EQ(curl.out, "hello\n 200 1.1") << curl.err;
    const auto front_curl = wait_for_line(front, {" GET " + web.url("/hello") + " 200 "});
    EXPECT_FALSE(front_curl.empty()) << front.out();
    EXPECT_FALSE(h2_fields_of(front_curl).found) << front_curl;
    EXPECT_FALSE(wait_for_line(parent, {" GET " + web.url("/hello") + " 200 "}).empty())
        << parent.out();
}

TEST(Http2Clients, MetricsCountConnectionsAndRequestsByProtocol) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin = unused_port();
    ferry_process ferry(https_ferry_args(files, {}), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // One HTTP/2 connection with one exchange (Node), then one HTTP/1.1 connection with one
    // exchange (curl, which offers h2 to origins but never to a proxy) while Node's origin is
    // gone: curl's answer is ferry's 502, an exchange all the same.
    const auto run = run_node("one", files, ferry.port(), {fmt::format("http={}", origin)});
    ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
    const auto curl =
        run_program({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                     "--proxy", fmt::format("https://127.0.0.1:{}", ferry.port()), "--proxy-cacert",
                     files.ca(), fmt::format("http://127.0.0.1:{}/", origin)},
                    15s);
    EXPECT_EQ(curl.out, "502 1.1") << curl.err;

    const int admin = admin_port(ferry);
    ASSERT_NE(admin, 0);
    std::string page;
    EXPECT_TRUE(eventually([&] {
        page = admin_get(admin, "GET /metrics HTTP/1.1");
        return metric(page, R"(ferry_exchanges_total{protocol="http1"})") == 1;
    })) << page;
    // Connections: all of them, and the HTTP/2 ones.
    EXPECT_EQ(metric(page, "ferry_client_connections_total"), 2) << page;
    EXPECT_EQ(metric(page, "ferry_http2_connections_total"), 1) << page;
    EXPECT_EQ(metric(page, R"(ferry_exchanges_total{protocol="h2"})"), 1) << page;
    EXPECT_EQ(metric(page, "ferry_http2_streams_open"), 0) << page;
    // Node closed its session with a GOAWAY(NO_ERROR).
    EXPECT_TRUE(eventually([&] {
        return fetch_metric(admin,
                            R"(ferry_http2_goaways_total{side="received",reason="no_error"})") == 1;
    })) << admin_get(admin, "GET /metrics HTTP/1.1");
    EXPECT_GE(metric(page, "ferry_http2_idle_connection_bytes"), 0) << page;
}

// The access log formats and the flow log for an HTTP/2 exchange (" proto=h2 conn=C
// stream=S"; JSON "protocol":"HTTP/2","connection":C,"stream":S; combined's request line
// "GET http://host/x HTTP/2"; flow log "--- connection #C stream S ---").
TEST(Http2Clients, AccessLogFormatsAndTheFlowLogNameTheConnectionAndStream) {
    REQUIRE_NODE();
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin = unused_port();
    const auto flow = files.path("flow.log");
    {
        ferry_process ferry(
            https_ferry_args(files, {"--access-log-format", "json", "--flow-log", flow}), false);
        ASSERT_TRUE(ferry.started()) << ferry.err();
        const auto run = run_node("one", files, ferry.port(), {fmt::format("http={}", origin)});
        ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
        const auto line = wait_for_line(ferry, {"/echo?q=1\"", "\"protocol\":\"HTTP/2\""});
        ASSERT_FALSE(line.empty()) << ferry.out();
        static const std::regex json_fields(R"re("connection":(\d+).*"stream":(\d+))re");
        std::smatch m;
        ASSERT_TRUE(std::regex_search(line, m, json_fields)) << line;
        EXPECT_EQ(m.str(2), run["stream_id"]) << line;
        const auto header = wait_for_line_in_file(
            flow, {fmt::format("--- connection #{} stream {} ---", m.str(1), run["stream_id"])});
        EXPECT_FALSE(header.empty()) << read_file(flow);
    }
    {
        ferry_process ferry(https_ferry_args(files, {"--access-log-format", "combined"}), false);
        ASSERT_TRUE(ferry.started()) << ferry.err();
        const auto run = run_node("one", files, ferry.port(), {fmt::format("http={}", origin)});
        ASSERT_TRUE(run.ok()) << run.show() << "\nferry:\n" << tail(ferry.err());
        EXPECT_FALSE(
            wait_for_line(ferry,
                          {fmt::format("\"GET http://127.0.0.1:{}/echo?q=1 HTTP/2\" 200 ", origin)})
                .empty())
            << ferry.out();
    }
}

// The access log's byte counts are exact (auditing, billing): in every path — splice,
// re-chunking, CONNECT and WebSocket tunnels both ways, responses cut short by the origin or
// the client, and ferry's own shutdown — the bytes logged to and from the client are the
// bytes the client received and sent, counted here on the client's own socket. The cause
// names who ended a cut exchange. Lines reach the log within --log-flush-interval.
//
// The JSON format is read (one object per line). Every transfer is bounded: origins send a
// few MB at most, each wait has a limit, and each test takes a few seconds.
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// A raw client socket to ferry; `rcvbuf` > 0 makes its receive buffer small (set before
// connecting, so that the window is small from the start).
int connect_raw(int port, int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends all of `data`; the bytes the kernel took (all of them unless an error came).
std::size_t send_raw(int fd, std::string_view data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += std::size_t(n);
    }
    return sent;
}

// Reads into `out` until the peer ends (EOF or reset: true), `limit` passes, or `out` holds
// `stop_at` bytes (false).
bool read_raw(int fd, std::string& out, std::chrono::milliseconds limit,
              std::size_t stop_at = std::string::npos) {
    const auto until = steady::now() + limit;
    char buf[65536];
    while (out.size() < stop_at) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, int(left)) <= 0) continue;
        const auto want = std::min<std::size_t>(sizeof buf, stop_at - out.size());
        const auto n = ::recv(fd, buf, want, 0);
        if (n <= 0) return true;
        out.append(buf, std::size_t(n));
    }
    return false;
}

// One JSON access-log line's fields this file checks.
struct logged {
    std::string line;
    std::uint64_t to_client = 0, from_client = 0, body = 0;
    int status = 0;
    std::string cause;
};

std::uint64_t number_field(const std::string& line, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex("\"" + name + "\":(\\d+)"))) return ~0ull;
    return std::stoull(m[1]);
}

logged parse(const std::string& line) {
    logged l;
    l.line = line;
    l.to_client = number_field(line, "bytes_to_client");
    l.from_client = number_field(line, "bytes_from_client");
    l.body = number_field(line, "body_bytes");
    l.status = int(number_field(line, "status"));
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"re("cause":"((?:[^"\\]|\\.)*)")re")))
        l.cause = m[1];
    return l;
}

// The access-log line naming `needle` (a unique target), within `limit`.
logged line_for(const ferry_process& ferry, const std::string& needle,
                std::chrono::milliseconds limit = 5s) {
    return parse(wait_for_line(ferry, {needle, "\"bytes_to_client\""}, limit));
}

// The line after ferry has exited (it writes what it gathered as it ends).
logged line_after_exit(const ferry_process& ferry, const std::string& needle) {
    for (const auto& line : lines_of(ferry.out()))
        if (line.find(needle) != std::string::npos && line.find("bytes_to_client") != line.npos)
            return parse(line);
    return {};
}

// The process has ended (a zombie until the test reaps it).
bool exited(pid_t pid) {
    const auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    const auto end = stat.rfind(')');
    return stat.empty() ||
           (end != std::string::npos && stat.size() > end + 2 && stat[end + 2] == 'Z');
}

std::vector<std::string> ferry_args(std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--access-log-format", "json", "--connect-ports", "any"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::string get(const test_origin& origin, const std::string& path, bool close = true) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n", origin.url(path),
                       origin.authority(), close ? "Connection: close\r\n" : "");
}

// Sends `n` pattern bytes in pieces of `piece`, pausing `pause` after each; stops when the
// connection fails or `stop` turns true.
void send_paced(origin_connection& c, std::size_t n, std::size_t piece,
                std::chrono::milliseconds pause, const std::atomic<bool>* stop = nullptr) {
    const auto body = pattern(piece);
    for (std::size_t sent = 0; sent < n && !(stop && *stop); sent += piece) {
        if (!c.send(std::string_view(body).substr(0, std::min(piece, n - sent)))) return;
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
}

} // namespace

// A Content-Length body of 4 MiB goes by splice(2): all of it, and the head, counted.
TEST(ExactLogs, SplicedBodyCountsEveryByteTheClientGot) {
    test_origin origin;
    ferry_process ferry(ferry_args({"--splice", "on"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request = get(origin, "/size/4194304");
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    EXPECT_TRUE(read_raw(fd, got, 5s));
    ::close(fd);
    ASSERT_EQ(body_of(got).size(), 4194304u);
    const auto l = line_for(ferry, "/size/4194304");
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_EQ(l.body, 4194304u) << l.line;
    EXPECT_EQ(l.from_client, request.size()) << l.line;
    EXPECT_EQ(l.cause, "") << l.line;
}

// A close-delimited body re-chunked for an HTTP/1.1 client: bytes_to_client counts the wire
// bytes (head and chunk framing), body_bytes the body alone (combined log's %b).
TEST(ExactLogs, RechunkedBodyCountsWireBytesAndBodyBytesApart) {
    test_origin origin;
    ferry_process ferry(ferry_args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request = get(origin, "/close/300000");
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    EXPECT_TRUE(read_raw(fd, got, 5s));
    ::close(fd);
    ASSERT_EQ(header_value(head_of(got), "transfer-encoding"), "chunked") << head_of(got);
    std::string body;
    ASSERT_TRUE(dechunk(body_of(got), body));
    ASSERT_EQ(body.size(), 300000u);
    const auto l = line_for(ferry, "/close/300000");
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_EQ(l.body, 300000u) << l.line;
}

// The origin closes after 300,000 of 1,000,000 announced bytes: the client got what ferry
// relayed, the log says so, and names the origin.
TEST(ExactLogs, OriginCutShortCountsWhatWasRelayedAndNamesTheOrigin) {
    test_origin origin([](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        send_paced(c, 300000, 65536, 0ms);
    });
    ferry_process ferry(ferry_args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request = get(origin, "/origin-cut");
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    EXPECT_TRUE(read_raw(fd, got, 5s));
    ::close(fd);
    ASSERT_EQ(body_of(got).size(), 300000u);
    const auto l = line_for(ferry, "/origin-cut");
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_EQ(l.body, 300000u) << l.line;
    EXPECT_EQ(l.cause, "ferry: " + origin.authority() +
                           " closed the connection in the middle of the response")
        << l.line;
}

// The client reads 200 KB of a large body and closes with more unread (a reset): the log
// counts what reached the client's socket — what it read plus what it left unread — not
// what ferry still had queued, and says the client closed.
static void client_cut(const std::string& splice) {
    std::atomic<bool> stop{false};
    test_origin origin([&](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n");
        send_paced(c, 67108864, 65536, 0ms, &stop);
    });
    ferry_process ferry(ferry_args({"--splice", splice}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port(), 65536);
    ASSERT_GE(fd, 0);
    const auto request = get(origin, "/client-cut");
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    read_raw(fd, got, 5s, 200000);
    ASSERT_EQ(got.size(), 200000u);
    // Reading stops: the window closes, and every byte in the socket is acknowledged.
    std::this_thread::sleep_for(500ms);
    int unread = 0;
    ASSERT_EQ(::ioctl(fd, FIONREAD, &unread), 0);
    ::close(fd); // unread bytes: a reset
    const auto l = line_for(ferry, "/client-cut");
    stop = true;
    EXPECT_EQ(l.to_client, got.size() + std::size_t(unread)) << l.line << " read " << got.size();
    EXPECT_EQ(l.cause, "ferry: client closed the connection in the middle of the response")
        << l.line;
}

TEST(ExactLogs, ClientCutShortCountsWhatReachedTheClientSpliced) {
    client_cut("on");
}

TEST(ExactLogs, ClientCutShortCountsWhatReachedTheClientCopied) {
    client_cut("off");
}

// A download in flight when the drain time runs out: ferry closes it, the client has every
// byte ferry counted (the close is graceful), and the cause is ferry's shutdown, not the
// client.
static void shutdown_cut(const std::string& splice) {
    std::atomic<bool> stop{false};
    test_origin origin([&](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n");
        send_paced(c, 50000000, 65536, 10ms, &stop); // about 6 MB/s
    });
    ferry_process ferry(ferry_args({"--shutdown-timeout", "1", "--splice", splice}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request = get(origin, "/shutdown-cut");
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    read_raw(fd, got, 5s, 500000);
    ASSERT_EQ(got.size(), 500000u);
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    EXPECT_TRUE(read_raw(fd, got, 5s)); // ferry closes it after about a second
    ::close(fd);
    stop = true;
    // It exits by itself once the cut exchange is closed.
    // (Not a second signal: one that comes as ferry ends could find the default action back.)
    EXPECT_TRUE(eventually([&] { return exited(ferry.pid()); }, 5s));
    const int status = ferry.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
    const auto l = line_after_exit(ferry, "/shutdown-cut");
    ASSERT_FALSE(l.line.empty()) << ferry.out();
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_LT(got.size(), 50000000u);
    EXPECT_EQ(l.cause, "ferry: shutting down: the response cut when the drain time ran out "
                       "(--shutdown-timeout 1s) or a second stop signal came")
        << l.line;
}

TEST(ExactLogs, ShutdownCutCountsWhatTheClientGotAndBlamesTheShutdownSpliced) {
    shutdown_cut("on");
}

TEST(ExactLogs, ShutdownCutCountsWhatTheClientGotAndBlamesTheShutdownCopied) {
    shutdown_cut("off");
}

// The client sends 300,000 of the 1,000,000 body bytes it announced and closes: every byte
// it sent is counted, and the cause is the client.
TEST(ExactLogs, UploadCutShortCountsWhatTheClientSent) {
    test_origin origin([](origin_connection& c) {
        const auto head = c.read_head();
        if (head.empty()) return;
        bool ok = false;
        c.read_body(head, ok, 5s);
    });
    ferry_process ferry(ferry_args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto head = fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000\r\n\r\n",
                                  origin.url("/upload-cut"), origin.authority());
    ASSERT_EQ(send_raw(fd, head), head.size());
    ASSERT_EQ(send_raw(fd, pattern(300000)), 300000u);
    std::this_thread::sleep_for(200ms); // all of it through ferry, then the end
    ::shutdown(fd, SHUT_WR);
    std::string got;
    read_raw(fd, got, 5s);
    ::close(fd);
    const auto l = line_for(ferry, "/upload-cut");
    EXPECT_EQ(l.from_client, head.size() + 300000) << l.line;
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_EQ(l.cause, "ferry: client closed the connection in the middle of the request body")
        << l.line;
}

// A CONNECT tunnel, spliced: 300,000 bytes up, 500,000 down, each side counted whole.
TEST(ExactLogs, ConnectTunnelCountsBothDirections) {
    test_origin origin([](origin_connection& c) {
        std::string up = c.stream.read_exact(300000, 5s);
        if (up.size() != 300000) return;
        send_paced(c, 500000, 65536, 0ms);
    });
    ferry_process ferry(ferry_args({"--splice", "on"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request =
        fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority());
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    read_raw(fd, got, 5s, 39); // "HTTP/1.1 200 Connection established\r\n\r\n"
    ASSERT_EQ(status_of(got), 200) << got;
    ASSERT_EQ(send_raw(fd, pattern(300000)), 300000u);
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(read_raw(fd, got, 5s));
    ::close(fd);
    ASSERT_EQ(body_of(got).size(), 500000u);
    const auto l = line_for(ferry, "\"CONNECT\"");
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_EQ(l.from_client, request.size() + 300000) << l.line;
    EXPECT_EQ(l.body, 500000u) << l.line;
}

// A WebSocket Upgrade: after the 101, bytes both ways through the tunnel, counted whole.
TEST(ExactLogs, WebSocketTunnelCountsBothDirections) {
    test_origin origin([](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
        std::string up = c.stream.read_exact(100000, 5s);
        if (up.size() != 100000) return;
        send_paced(c, 200000, 65536, 0ms);
    });
    ferry_process ferry(ferry_args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request = fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        origin.url("/ws"), origin.authority());
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    read_raw(fd, got, 5s, 12);
    ASSERT_EQ(status_of(got), 101) << got;
    ASSERT_EQ(send_raw(fd, pattern(100000)), 100000u);
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(read_raw(fd, got, 5s));
    ::close(fd);
    ASSERT_EQ(body_of(got).size(), 200000u);
    const auto l = line_for(ferry, "/ws");
    EXPECT_EQ(l.status, 101) << l.line;
    EXPECT_EQ(l.to_client, got.size()) << l.line;
    EXPECT_EQ(l.from_client, request.size() + 100000) << l.line;
}

// A line is written within --log-flush-interval of its exchange's end (plus a little for
// the machine), not at some later tick.
TEST(ExactLogs, LinesReachTheLogWithinTheFlushInterval) {
    test_origin origin;
    ferry_process ferry(ferry_args({"--log-flush-interval", "0.3"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    for (int i = 0; i < 3; ++i) {
        const int fd = connect_raw(ferry.port());
        ASSERT_GE(fd, 0);
        const auto path = fmt::format("/flush-{}", i);
        const auto request = get(origin, path);
        ASSERT_EQ(send_raw(fd, request), request.size());
        std::string got;
        EXPECT_TRUE(read_raw(fd, got, 5s));
        ::close(fd);
        const auto answered = steady::now();
        const auto l = line_for(ferry, path, 2s);
        const auto waited = steady::now() - answered;
        ASSERT_FALSE(l.line.empty()) << "no line for " << path;
        EXPECT_LT(waited, 300ms + 250ms) << path;
        std::this_thread::sleep_for(100ms); // the next line starts a fresh interval
    }
}

// The interval is what holds a line back: with 1 s, a line is not there at 0.4 s and is by
// 1 s (plus a little).
TEST(ExactLogs, TheFlushIntervalIsTheOperatorsChoice) {
    test_origin origin;
    ferry_process ferry(ferry_args({"--log-flush-interval", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int fd = connect_raw(ferry.port());
    ASSERT_GE(fd, 0);
    const auto request = get(origin, "/held-back");
    ASSERT_EQ(send_raw(fd, request), request.size());
    std::string got;
    EXPECT_TRUE(read_raw(fd, got, 5s));
    ::close(fd);
    const auto answered = steady::now();
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(ferry.out().find("/held-back"), std::string::npos) << ferry.out();
    const auto l = line_for(ferry, "/held-back", 3s);
    ASSERT_FALSE(l.line.empty());
    EXPECT_LT(steady::now() - answered, 1000ms + 250ms);
}

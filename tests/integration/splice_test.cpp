// The splice(2) path (--splice on, the default): large unchanged bodies and tunnels move
// socket to socket through a kernel pipe. Whatever path carries them, bytes arrive exact,
// a Content-Length body is never read past its end (the next message on both connections
// is intact), a cut-short body is never passed off as complete, and deadlines still apply.
#include "support/curl_client.h"
#include "support/fast_pattern.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/requests.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fmt/format.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace ferry_test;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Pipes ferry holds open: a spliced transfer leaves its (empty) pipe in the worker's cache.
int open_pipes(pid_t pid) {
    int n = 0;
    const auto dir_name = fmt::format("/proc/{}/fd", pid);
    DIR* dir = ::opendir(dir_name.c_str());
    if (!dir) return -1;
    while (auto* e = ::readdir(dir)) {
        char target[256];
        const auto path = dir_name + "/" + e->d_name;
        auto len = ::readlink(path.c_str(), target, sizeof target - 1);
        if (len > 0 && std::string_view(target, std::size_t(len)).starts_with("pipe:")) ++n;
    }
    ::closedir(dir);
    return n;
}

// BYTES_TO_CLIENT and BYTES_FROM_CLIENT of the access-log line that has `needle`
// (TIME CLIENT METHOD TARGET STATUS BYTES_TO BYTES_FROM DURATIONms ...).
std::pair<std::uint64_t, std::uint64_t> logged_bytes(const ferry_process& ferry,
                                                     const std::string& needle) {
    auto line = wait_for_line(ferry, {needle});
    std::vector<std::string> fields;
    for (std::size_t at = 0; at < line.size();) {
        auto end = line.find(' ', at);
        if (end == std::string::npos) end = line.size();
        fields.push_back(line.substr(at, end - at));
        at = end + 1;
    }
    if (fields.size() < 7) return {0, 0};
    return {std::stoull(fields[5]), std::stoull(fields[6])};
}

std::vector<std::string> ferry_args(bool splice, std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--workers", "1", "--splice", splice ? "on" : "off"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// 32 MiB with Content-Length, then a second request on the same client connection, which
// ferry must send on the same upstream connection: had either body been read past its
// end, the second answer would be corrupt or the connection not reusable.
void download_then_next_request(bool splice) {
    test_origin origin;
    ferry_process ferry(ferry_args(splice));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int pipes_before = open_pipes(ferry.pid());
    curl_client client;
    const std::size_t size = 32 * mib;
    auto first = client.perform({.url = origin.url("/size/" + std::to_string(size)),
                                 .proxy = ferry.proxy_url(),
                                 .keep_body = false});
    ASSERT_EQ(first.code, CURLE_OK);
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body_size, size);
    EXPECT_EQ(first.body_hash, hash_pattern_fast(size));
    // Counted exactly: the head as sent plus every body byte.
    EXPECT_EQ(logged_bytes(ferry, "/size/" + std::to_string(size) + " 200").first,
              first.headers.size() + size);
    const std::size_t second_size = 300 * 1024 + 7;
    auto second = client.perform({.url = origin.url("/size/" + std::to_string(second_size)),
                                  .proxy = ferry.proxy_url(),
                                  .keep_body = false});
    ASSERT_EQ(second.code, CURLE_OK);
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(second.connects, 0) << "the client connection was not kept";
    EXPECT_EQ(second.body_size, second_size);
    EXPECT_EQ(second.body_hash, hash_pattern_fast(second_size));
    auto third = client.perform({.url = origin.url("/"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(third.code, CURLE_OK);
    EXPECT_EQ(third.body, "hello\n");
    EXPECT_EQ(third.connects, 0);
    EXPECT_EQ(origin.connections(), 1) << "the upstream connection was not reused";
    const int pipes_after = open_pipes(ferry.pid());
    if (splice)
        EXPECT_GT(pipes_after, pipes_before) << "no pipe was used: the body was not spliced";
    else
        EXPECT_EQ(pipes_after, pipes_before) << "--splice off still used a pipe";
}

} // namespace

TEST(Splice, LargeDownloadIsExactAndBothConnectionsStayUsable) {
    download_then_next_request(true);
}

TEST(Splice, LargeDownloadWithSpliceOffIsExactAndBothConnectionsStayUsable) {
    download_then_next_request(false);
}

TEST(Splice, CloseDelimitedBodyToAnHttpOneZeroClientIsExact) {
    test_origin origin;
    ferry_process ferry(ferry_args(true));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    const std::size_t size = 8 * mib + 3;
    auto r = client.perform({.url = origin.url("/close/" + std::to_string(size)),
                             .proxy = ferry.proxy_url(),
                             .http10 = true,
                             .keep_body = false});
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern_fast(size));
}

TEST(Splice, LargeUploadWithContentLengthIsExact) {
    test_origin origin;
    ferry_process ferry(ferry_args(true));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    const std::size_t size = 16 * mib + 11;
    auto r = client.perform({.url = origin.url("/echo"),
                             .proxy = ferry.proxy_url(),
                             .method = "PUT",
                             .pattern_upload = size,
                             .keep_body = false});
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern_fast(size));
    // The same connections carry the next exchange.
    auto next = client.perform({.url = origin.url("/"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(next.code, CURLE_OK);
    EXPECT_EQ(next.body, "hello\n");
    EXPECT_EQ(next.connects, 0);
    EXPECT_EQ(origin.connections(), 1);
}

namespace {

constexpr std::size_t tunnel_size = 16 * mib;

void send_pattern_bytes(tcp_stream& s, std::size_t n, std::uint64_t seed) {
    std::vector<char> buf(256 * 1024);
    for (std::size_t i = 0; i < n;) {
        auto k = std::min(buf.size(), n - i);
        fill_pattern(i, buf.data(), k, seed);
        if (!s.send_all(std::string_view(buf.data(), k))) return;
        i += k;
    }
}

// Sends 16 MiB (seed 2) while it reads the client's bytes until the client ends its
// stream, then reports what it read ("<size> <hash>\n") and closes: the report can only
// arrive if the tunnel kept the other direction open after the client's half-close.
void tunnel_origin(origin_connection& c) {
    std::thread sender([&] { send_pattern_bytes(c.stream, tunnel_size, 2); });
    fnv1a h;
    std::uint64_t size = 0;
    for (;;) {
        auto piece = c.stream.read_exact(64 * 1024, 10s);
        if (piece.empty()) break;
        fnv1a_update(h, piece.data(), piece.size());
        size += piece.size();
    }
    sender.join();
    c.send(fmt::format("{} {:x}\n", size, h.h));
}

} // namespace

TEST(Splice, ConnectTunnelIsExactBothWaysWithHalfClose) {
    test_origin origin(tunnel_origin);
    ferry_process ferry(ferry_args(true, {"--connect-ports", "any"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    const auto request =
        fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority());
    ASSERT_TRUE(s.send_all(request));
    auto head = s.read_until("\r\n\r\n", 5s);
    ASSERT_EQ(status_of(head), 200) << head;
    std::thread sender([&] {
        send_pattern_bytes(s, tunnel_size, 1);
        s.shutdown_write();
    });
    auto down = s.read_exact(tunnel_size, 30s);
    auto report = s.read_until_close(10s);
    sender.join();
    ASSERT_EQ(down.size(), tunnel_size);
    fnv1a h;
    fnv1a_update(h, down.data(), down.size());
    EXPECT_EQ(h.h, hash_pattern_fast(tunnel_size, 2));
    EXPECT_EQ(report, fmt::format("{} {:x}\n", tunnel_size, hash_pattern_fast(tunnel_size, 1)));
    auto [to_client, from_client] = logged_bytes(ferry, "CONNECT " + origin.authority());
    EXPECT_EQ(to_client, head.size() + tunnel_size + report.size());
    EXPECT_EQ(from_client, request.size() + tunnel_size);
}

TEST(Splice, ContentLengthBodyCutShortByTheOriginIsNotPassedOffAsComplete) {
    const std::size_t declared = 8 * mib, sent = 3 * mib;
    test_origin origin([&](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", declared));
        send_pattern_bytes(c.stream, sent, 1);
    });
    ferry_process ferry(ferry_args(true));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto [head, body, closed] = read_cut_response(ferry.port(), get(origin, "/cut"), 10s);
    ASSERT_EQ(status_of(head), 200) << head;
    EXPECT_TRUE(closed) << "ferry must close the client connection";
    ASSERT_EQ(body.size(), sent);
    fnv1a h;
    fnv1a_update(h, body.data(), body.size());
    EXPECT_EQ(h.h, hash_pattern_fast(sent));
    EXPECT_TRUE(ferry.wait_for_out("closed the connection in the middle of the response"))
        << ferry.out();
}

TEST(Splice, SlowReaderHoldsTheWriterBackAndGetsEverything) {
    test_origin origin;
    ferry_process ferry(ferry_args(true, {"--send-timeout", "3"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    const std::size_t size = 24 * mib;
    ASSERT_TRUE(
        s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                               origin.url("/size/" + std::to_string(size)), origin.authority())));
    // Far more than the socket buffers hold stays unread for a while: ferry's write waits.
    std::this_thread::sleep_for(1500ms);
    auto head = s.read_until("\r\n\r\n", 5s);
    ASSERT_EQ(status_of(head), 200) << head;
    auto body = s.read_exact(size, 30s);
    ASSERT_EQ(body.size(), size);
    fnv1a h;
    fnv1a_update(h, body.data(), body.size());
    EXPECT_EQ(h.h, hash_pattern_fast(size));
}

TEST(Splice, ReaderThatStopsIsCutOffAtTheSendTimeout) {
    test_origin origin;
    ferry_process ferry(ferry_args(true, {"--send-timeout", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    const std::size_t size = 256 * mib;
    ASSERT_TRUE(
        s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                               origin.url("/size/" + std::to_string(size)), origin.authority())));
    EXPECT_TRUE(
        ferry.wait_for_out("client read nothing for --send-timeout (1s) in the middle of the "
                           "response",
                           10s))
        << "the stalled write never timed out: " << ferry.out();
    auto got = s.read_until_close(20s);
    EXPECT_LT(got.size(), size);
}

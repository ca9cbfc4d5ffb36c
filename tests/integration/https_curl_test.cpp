// ferry as an HTTPS proxy (issue 14), driven by the curl command a user types:
// `curl --proxy https://127.0.0.1:P --proxy-cacert ca.pem`, with certificates the test makes.
// GET and POST over one TLS connection, a 100 MiB download hashed byte for byte, and CONNECT
// to a TLS origin (TLS inside TLS); a client that does not trust the proxy's CA is refused by
// the client itself.
#include "support/command.h"
#include "support/fast_pattern.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fstream>
#include <future>
#include <vector>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// curl with the proxy's options and `args`; stdout is what `-w` and the body print.
command_result curl_through(const ferry_process& ferry, const tls_files& files,
                            std::vector<std::string> args) {
    auto argv = without_proxy_environment();
    for (const auto& a : {"curl", "-sS", "--max-time", "60", "--proxy"})
        argv.emplace_back(a);
    argv.push_back(fmt::format("https://127.0.0.1:{}", ferry.port()));
    argv.push_back("--proxy-cacert");
    argv.push_back(files.ca());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, 70s);
}

// An origin that serves /big/N: N pattern bytes with Content-Length, produced a block at a
// time (the byte-wise pattern would be slower than the transfer in a Debug build).
void big_handler(origin_connection& c) {
    std::vector<char> block(256 * 1024);
    for (;;) {
        const auto head = c.read_head(10s);
        const auto at = head.find("/big/");
        if (at == std::string::npos) return;
        const std::uint64_t n = std::stoull(head.substr(at + 5));
        if (!c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", n))) return;
        for (std::uint64_t sent = 0; sent < n;) {
            const auto k =
                static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), n - sent));
            fill_pattern(sent, block.data(), k);
            if (!c.send(std::string_view(block.data(), k))) return;
            sent += k;
        }
    }
}

// The size and fnv1a of a file, read a MiB at a time.
std::pair<std::uint64_t, std::uint64_t> size_and_hash(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 20);
    fnv1a h;
    std::uint64_t size = 0;
    while (in.read(buf.data(), std::streamsize(buf.size())) || in.gcount() > 0) {
        fnv1a_update(h, buf.data(), std::size_t(in.gcount()));
        size += std::uint64_t(in.gcount());
    }
    return {size, h.h};
}

class HttpsCurl : public ::testing::Test {
protected:
    void SetUp() override {
        if (shell_output("command -v curl").empty()) GTEST_SKIP() << "the curl command is missing";
        ASSERT_TRUE(files.ok()) << files.error();
    }
    tls_files files;
};

} // namespace

TEST_F(HttpsCurl, GetAndPostShareOneTlsConnection) {
    test_origin origin;
    ferry_process ferry(files.https_args(), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_TRUE(ferry.wait_for_out(
        fmt::format("Starting proxy server on port {} (https://127.0.0.1)", ferry.port())))
        << ferry.out();
    // Two transfers in one curl run: the second reuses the first's TLS connection.
    auto r = curl_through(ferry, files,
                          {"-w", "|%{http_code}|%{num_connects}\n", origin.url("/"), "--next",
                           "--proxy", fmt::format("https://127.0.0.1:{}", ferry.port()),
                           "--proxy-cacert", files.ca(), "--data-binary", "posted over TLS", "-w",
                           "|%{http_code}|%{num_connects}\n", origin.url("/echo")});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry.err();
    EXPECT_EQ(r.out, "hello\n|200|1\nposted over TLS|200|0\n") << r.err;
    EXPECT_FALSE(wait_for_line(ferry, {"GET " + origin.url("/"), " 200 "}).empty()) << ferry.out();
    EXPECT_FALSE(wait_for_line(ferry, {"POST " + origin.url("/echo"), " 200 "}).empty())
        << ferry.out();
    EXPECT_NE(origin.received().find("posted over TLS"), std::string::npos);
}

TEST_F(HttpsCurl, Download100MiBIsByteExact) {
    constexpr std::uint64_t size = 100ull << 20;
    test_origin origin(big_handler);
    ferry_process ferry(files.https_args(), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto expected = std::async(std::launch::async, [] { return hash_pattern_fast(size); });
    const auto out = files.path("download.bin");
    auto r = curl_through(
        ferry, files, {"-o", out, "-w", "%{http_code}", origin.url(fmt::format("/big/{}", size))});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry.err();
    EXPECT_EQ(r.out, "200");
    const auto [got_size, got_hash] = size_and_hash(out);
    EXPECT_EQ(got_size, size);
    EXPECT_EQ(got_hash, expected.get()) << "the body differs from the origin's bytes";
}

TEST_F(HttpsCurl, ConnectToATlsOriginIsTlsInsideTls) {
    std::ofstream(files.path("page.txt")) << "end to end inside the proxy's TLS\n";
    tls_web_origin origin(files);
    ASSERT_TRUE(origin.ready()) << "openssl s_server did not start";
    auto args = files.https_args();
    args.insert(args.end(), {"--connect-ports", std::to_string(origin.port())});
    ferry_process ferry(args, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    // --cacert verifies the origin, --proxy-cacert the proxy: two TLS sessions, one inside
    // the other.
    auto r = curl_through(ferry, files, {"--cacert", files.ca(), origin.url("page.txt")});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry.err();
    EXPECT_EQ(r.out, "end to end inside the proxy's TLS\n");
    EXPECT_FALSE(
        wait_for_line(ferry, {fmt::format("CONNECT 127.0.0.1:{}", origin.port()), " 200 "}).empty())
        << ferry.out();
}

TEST_F(HttpsCurl, AClientThatDoesNotTrustTheProxysCaRefusesIt) {
    test_origin origin;
    ferry_process ferry(files.https_args(), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto argv = without_proxy_environment();
    argv.insert(argv.end(), {"curl", "-sS", "--max-time", "20", "--proxy",
                             fmt::format("https://127.0.0.1:{}", ferry.port()), origin.url("/")});
    auto r = run_program(argv, 30s);
    EXPECT_EQ(r.exit_code(), 60) << "curl: certificate problem expected\n" << r.err;
    EXPECT_EQ(origin.connections(), 0);
}

// Bodies far larger than memory should allow: a 2 GiB download and 512 MiB uploads (with
// Content-Length and chunked) arrive byte-exact, and ferry's peak RSS stays under 20 MiB,
// because it relays a bounded piece at a time and lets the slower side hold the faster back.
//
// Under AddressSanitizer the runtime alone takes ~45 MiB before the first request, so there
// the budget applies to the growth of the peak over a warmed-up baseline instead.
#include "support/curl_client.h"
#include "support/fast_pattern.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/proc_status.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fmt/format.h>
#include <future>
#include <strings.h>
#include <vector>

using namespace ferry_test;

namespace {

constexpr long budget_kib = 20 * 1024;
constexpr std::uint64_t two_gib = 2ull << 30;
constexpr std::uint64_t half_gib = 512ull << 20;

std::string path_of(std::string_view head) {
    auto sp1 = head.find(' ');
    auto sp2 = head.find(' ', sp1 + 1);
    return std::string(head.substr(sp1 + 1, sp2 - sp1 - 1));
}

// An origin that serves /big/N (N pattern bytes with Content-Length) quickly, and answers
// any request with a body by hashing it as it streams in: "<size> <fnv1a hex>\n".
void big_handler(origin_connection& c) {
    std::vector<char> buf(256 * 1024);
    for (;;) {
        auto head = c.stream.read_until("\r\n\r\n", 30s);
        if (head.find("\r\n\r\n") == std::string::npos) return;
        auto path = path_of(head);
        if (path.rfind("/big/", 0) == 0) {
            std::uint64_t n = std::stoull(path.substr(5));
            if (!c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                    "Content-Length: {}\r\n\r\n",
                                    n)))
                return;
            for (std::uint64_t i = 0; i < n;) {
                std::size_t k = std::size_t(std::min<std::uint64_t>(buf.size(), n - i));
                fill_pattern(i, buf.data(), k);
                if (!c.send(std::string_view(buf.data(), k))) return;
                i += k;
            }
            continue;
        }
        fnv1a h;
        std::uint64_t size = 0;
        auto cl = header_value(head, "content-length");
        bool ok = true;
        if (!cl.empty()) {
            std::uint64_t left = std::stoull(cl);
            while (left > 0 && ok) {
                auto piece = c.stream.read_exact(std::min<std::uint64_t>(left, 1 << 20), 30s);
                ok = !piece.empty();
                fnv1a_update(h, piece.data(), piece.size());
                size += piece.size();
                left -= piece.size();
            }
        } else if (strcasecmp(header_value(head, "transfer-encoding").c_str(), "chunked") == 0) {
            for (;;) {
                auto line = c.stream.read_until("\r\n", 30s);
                if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") {
                    ok = false;
                    break;
                }
                std::uint64_t chunk = std::stoull(line, nullptr, 16);
                if (chunk == 0) {
                    while (true) { // trailers up to the empty line
                        auto t = c.stream.read_until("\r\n", 30s);
                        if (t == "\r\n" || t.size() < 2) break;
                    }
                    break;
                }
                while (chunk > 0 && ok) {
                    auto piece = c.stream.read_exact(std::min<std::uint64_t>(chunk, 1 << 20), 30s);
                    ok = !piece.empty();
                    fnv1a_update(h, piece.data(), piece.size());
                    size += piece.size();
                    chunk -= piece.size();
                }
                if (!ok || c.stream.read_exact(2, 30s) != "\r\n") {
                    ok = false;
                    break;
                }
            }
        }
        if (!ok) return;
        auto body = fmt::format("{} {:016x}\n", size, h.h);
        if (!c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Content-Length: {}\r\n\r\n{}",
                                body.size(), body)))
            return;
    }
}

// ferry's resident set after a small download and upload: what it costs before the big one.
long warmed_up_rss(const ferry_process& ferry, const test_origin& origin) {
    curl_client client;
    client.perform({.url = origin.url("/big/100000"), .proxy = ferry.proxy_url()});
    client.perform({.url = origin.url("/up"),
                    .proxy = ferry.proxy_url(),
                    .method = "PUT",
                    .pattern_upload = 100000});
    client.perform({.url = origin.url("/up"),
                    .proxy = ferry.proxy_url(),
                    .method = "PUT",
                    .pattern_upload = 100000,
                    .chunked_upload = true});
    return rss_kib(ferry.pid());
}

void expect_memory_bounded(const ferry_process& ferry, long baseline_kib) {
    long peak = peak_rss_kib(ferry.pid());
    ASSERT_GT(peak, 0);
    std::printf("ferry VmHWM %ld KiB (baseline after warm-up %ld KiB)\n", peak, baseline_kib);
    if (built_with_asan())
        EXPECT_LT(peak - baseline_kib, budget_kib)
            << "peak RSS grew by " << (peak - baseline_kib) << " KiB over the warmed-up baseline";
    else
        EXPECT_LT(peak, budget_kib) << "peak RSS " << peak << " KiB";
}

} // namespace

TEST(LargeTransfer, FastPatternMatchesPattern) {
    // The fast helpers must produce exactly the bytes the byte-wise ones define.
    std::string fast(100003, '\0');
    fill_pattern(0, fast.data(), fast.size());
    EXPECT_EQ(fast, pattern(100003));
    std::string tail(1001, '\0');
    fill_pattern(99001, tail.data(), tail.size());
    EXPECT_EQ(tail, pattern(100002).substr(99001));
    EXPECT_EQ(hash_pattern_fast(100003), hash_pattern(100003));
}

TEST(LargeTransfer, Download2GiBByteExactWithBoundedMemory) {
    test_origin origin(big_handler);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const long baseline = warmed_up_rss(ferry, origin);
    auto expected = std::async(std::launch::async, [] { return hash_pattern_fast(two_gib); });

    curl_client client;
    auto started = std::chrono::steady_clock::now();
    auto r = client.perform({.url = origin.url(fmt::format("/big/{}", two_gib)),
                             .proxy = ferry.proxy_url(),
                             .keep_body = false,
                             .timeout_ms = 280'000});
    auto took = std::chrono::steady_clock::now() - started;
    std::printf("2 GiB download took %lld ms\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, two_gib);
    EXPECT_EQ(r.body_hash, expected.get());
    expect_memory_bounded(ferry, baseline);
}

TEST(LargeTransfer, Upload512MiBWithContentLengthByteExactWithBoundedMemory) {
    test_origin origin(big_handler);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const long baseline = warmed_up_rss(ferry, origin);
    auto expected = std::async(std::launch::async, [] { return hash_pattern_fast(half_gib); });

    curl_client client;
    auto r = client.perform({.url = origin.url("/upload"),
                             .proxy = ferry.proxy_url(),
                             .method = "PUT",
                             .pattern_upload = half_gib,
                             .timeout_ms = 200'000});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, fmt::format("{} {:016x}\n", half_gib, expected.get()));
    expect_memory_bounded(ferry, baseline);
}

TEST(LargeTransfer, Upload512MiBChunkedByteExactWithBoundedMemory) {
    test_origin origin(big_handler);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const long baseline = warmed_up_rss(ferry, origin);
    auto expected = std::async(std::launch::async, [] { return hash_pattern_fast(half_gib); });

    curl_client client;
    auto r = client.perform({.url = origin.url("/upload"),
                             .proxy = ferry.proxy_url(),
                             .method = "POST",
                             .pattern_upload = half_gib,
                             .chunked_upload = true,
                             .timeout_ms = 200'000});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, fmt::format("{} {:016x}\n", half_gib, expected.get()));
    expect_memory_bounded(ferry, baseline);
}

TEST(LargeTransfer, StalledClientHoldsTheOriginBackInsteadOfBuffering) {
    // The origin can send 256 MiB at once; a client that stops reading must not make ferry
    // take it all in: its memory stays put while the client stalls, and the body still
    // arrives whole afterwards.
    constexpr std::uint64_t size = 256ull << 20;
    test_origin origin(big_handler);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const long baseline = warmed_up_rss(ferry, origin);

    auto client = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(
        client.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                                    origin.url(fmt::format("/big/{}", size)), origin.authority())));
    auto head = client.read_until("\r\n\r\n", 10s);
    ASSERT_EQ(status_of(head), 200) << head;
    ASSERT_EQ(header_value(head, "content-length"), std::to_string(size));
    fnv1a h;
    auto first = client.read_exact(1 << 20, 10s);
    ASSERT_EQ(first.size(), 1u << 20);
    fnv1a_update(h, first.data(), first.size());

    std::this_thread::sleep_for(3s); // the client stalls; the origin keeps pushing
    const long during = rss_kib(ferry.pid());
    std::printf("ferry VmRSS during the stall %ld KiB (baseline %ld KiB)\n", during, baseline);
    EXPECT_LT(during - baseline, budget_kib) << "ferry buffered while the client stalled";

    std::uint64_t got = first.size();
    while (got < size) {
        auto piece = client.read_exact(std::min<std::uint64_t>(size - got, 4 << 20), 30s);
        if (piece.empty()) break;
        fnv1a_update(h, piece.data(), piece.size());
        got += piece.size();
    }
    EXPECT_EQ(got, size);
    EXPECT_EQ(h.h, hash_pattern_fast(size));
    expect_memory_bounded(ferry, baseline);
}

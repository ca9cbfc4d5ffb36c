#include "test_host.h"

#include "frontend/http1.h"
#include "frontend/socks5.h"

#include <boost/asio/ip/address.hpp>
#include <cstdlib>
#include <strings.h>

namespace ferry::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The end of the request in `bytes` (head and body), or npos while it is incomplete.
std::size_t request_end(std::string_view bytes) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return std::string_view::npos;
    const auto head = bytes.substr(0, head_end + 4);
    const auto body_start = head_end + 4;
    for (std::size_t at = head.find("\r\n"); at < head.size(); at = head.find("\r\n", at + 2)) {
        const auto line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
        if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
            const auto length = std::strtoull(std::string(line.substr(15)).c_str(), nullptr, 10);
            if (bytes.size() < body_start + length) return std::string_view::npos;
            return body_start + length;
        }
        if (line.size() > 18 && strncasecmp(line.data(), "transfer-encoding:", 18) == 0) {
            const auto end = bytes.find("\r\n0\r\n\r\n", body_start - 2);
            return end == std::string_view::npos ? end : end + 7;
        }
    }
    return body_start;
}

asio::awaitable<void> run_origin(std::unique_ptr<net::memory_stream> s, origin_script script,
                                 std::shared_ptr<origin_log> log) {
    net::byte_buffer buffer(4096);
    std::size_t answered = 0;
    for (;;) {
        std::size_t got = 0;
        auto ec = co_await s->read_some(buffer, 1 << 20, std::chrono::hours(1), got);
        if (ec) {
            log->closed_by_ferry = true;
            co_return;
        }
        log->received.append(buffer.data());
        if (script.tunnel_echo) {
            co_await s->write(asio::buffer(std::string(buffer.data())), std::chrono::hours(1));
            buffer.consume(buffer.size());
            continue;
        }
        buffer.consume(buffer.size());
        // One answer per complete request received so far.
        std::string_view seen = log->received;
        std::size_t complete = 0;
        for (std::size_t end; (end = request_end(seen)) != std::string_view::npos;) {
            ++complete;
            seen.remove_prefix(end);
        }
        while (answered < complete && answered < script.answers.size()) {
            const std::string answer = script.answers[answered++];
            co_await s->write(asio::buffer(answer), std::chrono::hours(1));
        }
        if (answered == script.answers.size() && script.close_after) {
            s->close();
            co_return;
        }
    }
}

} // namespace

test_host::test_host(config::settings s)
    : cfg_(std::make_shared<const config::settings>(std::move(s))),
      self_{tcp::endpoint(asio::ip::make_address("127.0.0.1"), 9001)},
      pool_(upstream::pool_limits{}) {}

test_host::~test_host() {
    pool_.clear();
}

void test_host::settle() {
    for (int i = 0; i < 10'000; ++i) {
        io.restart();
        if (io.poll() == 0) return;
    }
}

void test_host::advance(std::chrono::milliseconds by) {
    constexpr std::chrono::milliseconds tick{200};
    settle();
    for (; by > std::chrono::milliseconds::zero(); by -= std::min(by, tick)) {
        clock_ += std::min(by, tick);
        deadlines_.expire_passed(clock_);
        settle();
    }
}

void test_host::client::send(std::string_view bytes) {
    std::string copy(bytes);
    asio::co_spawn(
        *io,
        [s = end.get(), copy]() -> asio::awaitable<void> {
            co_await s->write(asio::buffer(copy), std::chrono::hours(1));
        },
        asio::detached);
}

bool test_host::client::read() {
    received += end->take_received();
    return end->peer_ended();
}

test_host::client test_host::connect_client() {
    auto [ours, ferrys] = net::memory_stream::pair(io, clock_, &deadlines_);
    client c;
    c.io = &io;
    c.end = std::move(ours);
    asio::co_spawn(io,
                   frontend::serve_http1_stream(
                       *this, std::move(ferrys),
                       tcp::endpoint(asio::ip::make_address("127.0.0.1"), 40000 + unsigned(ids_)),
                       next_connection_id(), false),
                   [done = c.done](std::exception_ptr) { *done = true; });
    return c;
}

test_host::client test_host::connect_socks5_client() {
    auto [ours, ferrys] = net::memory_stream::pair(io, clock_, &deadlines_);
    client c;
    c.io = &io;
    c.end = std::move(ours);
    asio::co_spawn(io,
                   frontend::serve_socks5_stream(
                       *this, std::move(ferrys),
                       tcp::endpoint(asio::ip::make_address("127.0.0.1"), 40000 + unsigned(ids_)),
                       next_connection_id()),
                   [done = c.done](std::exception_ptr) { *done = true; });
    return c;
}

std::unique_ptr<upstream::connection> test_host::new_connection() {
    auto [ferrys, origins] = net::memory_stream::pair(io, clock_, &deadlines_);
    origin_ends_.push_back(std::move(origins));
    return std::make_unique<upstream::connection>(std::move(ferrys),
                                                  &metrics_.upstream_connections);
}

asio::awaitable<core::error> test_host::connect(upstream::connection& c,
                                                const upstream::connect_request& request) {
    connects.push_back(std::string(request.host) + ":" + std::to_string(request.port));
    auto origin_end = std::move(origin_ends_.back());
    origin_ends_.pop_back();
    if (connect_failure) {
        auto e = *connect_failure;
        connect_failure.reset();
        co_return e;
    }
    c.address = "192.0.2.10";
    auto log = std::make_shared<origin_log>();
    upstream_logs.push_back(log);
    origin_script script;
    if (!origins.empty()) {
        script = std::move(origins.front());
        origins.pop_front();
    }
    asio::co_spawn(io, run_origin(std::move(origin_end), std::move(script), log), asio::detached);
    co_return core::error{};
}

} // namespace ferry::testing

// The seam between front ends and exchanges: a second front end, written here in the test
// tree and nowhere in ferry, drives the same exchange code as the HTTP/1 front end without
// any change to it. Its protocol is one line per request — "FETCH <absolute URL>" or
// "TUNNEL <host:port>" — and it answers with whatever the exchange sends.
#include "../proxy/test_host.h"

#include "proxy/exchange.h"

#include <gtest/gtest.h>

namespace ferry::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The whole front end: read a line, turn it into a request head, run an exchange on it.
asio::awaitable<void> serve_lines(frontend::host& h, std::unique_ptr<net::stream> client) {
    const auto settings = h.settings();
    net::byte_buffer in(4096);
    proxy::exchange_storage storage(settings->max_header_size);
    std::unique_ptr<upstream::connection> upstream;
    const bool draining = false;
    const auto loopback = asio::ip::make_address("127.0.0.1");
    for (std::uint64_t id = 1;; ++id) {
        std::size_t line_end;
        while ((line_end = in.data().find('\n')) == std::string_view::npos) {
            std::size_t got = 0;
            if (co_await client->read_some(in, 4096, std::chrono::seconds(10), got)) co_return;
        }
        const std::string line(in.data().substr(0, line_end));
        in.consume(line_end + 1);
        const auto space = line.find(' ');
        const auto verb = line.substr(0, space), what = line.substr(space + 1);
        if (verb == "FETCH") {
            const auto host = what.substr(7, what.find('/', 7) - 7);
            storage.request_store = "GET " + what + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
        } else {
            storage.request_store = "CONNECT " + what + " HTTP/1.1\r\nHost: " + what + "\r\n\r\n";
        }
        const proxy::client_side side{*client,  in, 4096,     "line-client",
                                      loopback, id, upstream, draining};
        proxy::exchange ex(h, side, storage, *settings);
        const auto next = co_await ex.run(line.size() + 1);
        ex.log();
        if (next == proxy::next::close) co_return;
    }
}

// Serves `lines` with the line front end until nothing is left to do; what came back.
std::string exchange_lines(test_host& h, std::string lines) {
    auto [ours, theirs] = net::memory_stream::pair(h.io, h.now(), &h.deadlines());
    asio::co_spawn(h.io, serve_lines(h, std::move(theirs)), asio::detached);
    asio::co_spawn(
        h.io,
        [&]() -> asio::awaitable<void> {
            co_await ours->write(asio::buffer(lines), std::chrono::seconds(1));
        },
        asio::detached);
    h.settle();
    return ours->take_received();
}

TEST(SecondFrontEnd, DrivesTheSameExchangeCode) {
    test_host h;
    h.origins.push_back({{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyou"}});
    const auto got =
        exchange_lines(h, "FETCH http://origin.test/one\nFETCH http://origin.test/two\n");
    EXPECT_NE(got.find("\r\n\r\nhi"), std::string::npos) << got;
    EXPECT_TRUE(got.ends_with("\r\n\r\nyou")) << got;
    // The same phases ran: route, pooled connection reused, the log record filled in.
    EXPECT_EQ(h.connects, std::vector<std::string>{"origin.test:80"});
    ASSERT_EQ(h.records.size(), 2u);
    EXPECT_EQ(h.records[0].client, "line-client");
    EXPECT_EQ(h.records[1].target, "http://origin.test/two");
    EXPECT_EQ(h.records[1].status, 200);
    EXPECT_FALSE(h.records[1].upstream_new);
}

TEST(SecondFrontEnd, GetsTheExchangesRulesAndTunnels) {
    test_host h;
    origin_script echo;
    echo.tunnel_echo = true;
    h.origins.push_back(echo);
    const auto got = exchange_lines(h, "TUNNEL origin.test:25\nTUNNEL origin.test:443\nping");
    // Port 25 is refused by the exchange's CONNECT rules (and it closes); nothing reached
    // an origin.
    EXPECT_TRUE(got.starts_with("HTTP/1.1 403 Forbidden")) << got;
    EXPECT_TRUE(h.connects.empty());
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].status, 403);
}

} // namespace
} // namespace ferry::testing

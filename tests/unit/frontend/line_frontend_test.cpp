// The seam between front ends and exchanges: a second front end, written here in the test
// tree and nowhere in ferry, drives the same exchange code as the HTTP/1 front end without
// any change to it. Its protocol is one line per request — "FETCH <absolute URL>" or
// "TUNNEL <host:port>" — and its answers are lines of its own: "<status> <reason>" before a
// relayed body, "OPEN" before a tunnel's bytes, "<status> <cause>" for ferry's own replies.
#include "../proxy/test_host.h"

#include "proxy/exchange.h"

#include <gtest/gtest.h>

namespace ferry::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// How the line protocol writes the exchange's answers (proxy/client_protocol.h).
class line_answers final : public proxy::client_protocol {
public:
    http::response_plan response_head(const http::request_head&, const http::response_head& resp,
                                      const http::body_framing& in,
                                      const proxy::answer_context& ctx,
                                      std::string& out) const override {
        out += std::to_string(resp.status) + " " + std::string(resp.reason) + "\n";
        http::response_plan plan; // the body as it comes, never re-chunked
        plan.close = ctx.must_close || in.kind == http::body_kind::until_close;
        return plan;
    }
    bool interim_head(const http::request_head&, const http::response_head&, std::string_view,
                      std::string&) const override {
        return false;
    }
    void switch_head(const http::response_head&, std::string_view,
                     std::string& out) const override {
        out += "SWITCHED\n";
    }
    void tunnel_established(const tcp::endpoint&, std::string& out) const override {
        out += "OPEN\n";
    }
    bool local_reply(const http::request_head&, const http::local_reply& reply,
                     const proxy::answer_context& ctx, std::string& out) const override {
        out += std::to_string(reply.status) + " " + reply.body;
        return reply.close || ctx.must_close;
    }
};

// The whole front end: read a line, turn it into a request head, run an exchange on it.
asio::awaitable<void> serve_lines(frontend::host& h, std::unique_ptr<net::stream> client) {
    const auto settings = h.settings();
    net::byte_buffer in(4096);
    proxy::exchange_storage storage(settings->max_header_size);
    std::unique_ptr<upstream::connection> upstream;
    const bool draining = false;
    const auto loopback = asio::ip::make_address("127.0.0.1");
    const line_answers answers;
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
        const proxy::client_side side{*client, in,       4096,     "line-client", loopback,
                                      id,      upstream, draining, answers,       nullptr};
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
    // Answered in the line protocol: the exchange wrote no HTTP/1 of its own.
    EXPECT_EQ(got, "200 OK\nhi200 OK\nyou");
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
    EXPECT_TRUE(got.starts_with("403 ferry: CONNECT to port 25 is not allowed")) << got;
    EXPECT_TRUE(h.connects.empty());
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].status, 403);
}

TEST(SecondFrontEnd, OpensTunnelsInItsOwnProtocol) {
    test_host h;
    origin_script echo;
    echo.tunnel_echo = true;
    h.origins.push_back(echo);
    const auto got = exchange_lines(h, "TUNNEL origin.test:443\nping");
    EXPECT_EQ(got, "OPEN\nping"); // the line protocol's answer, then the origin's echo
    EXPECT_EQ(h.connects, std::vector<std::string>{"origin.test:443"});
}

} // namespace
} // namespace ferry::testing

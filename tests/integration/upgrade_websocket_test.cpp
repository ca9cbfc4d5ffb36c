// A real WebSocket (RFC 6455) through ferry: Boost.Beast on both ends. The client does its
// handshake over a connection to ferry with an absolute-form target; the origin is a Beast
// server behind a test_origin connection.
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Beast's blocking calls have no timeout: this shuts the socket down if the test has not
// finished with it in time, so a broken proxy fails the test instead of hanging it.
class watchdog {
public:
    watchdog(int fd, std::chrono::milliseconds limit)
        : thread_([this, fd, limit] {
              std::unique_lock lock(mutex_);
              if (!done_cv_.wait_for(lock, limit, [this] { return done_; }))
                  ::shutdown(fd, SHUT_RDWR);
          }) {}
    ~watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_all();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    std::thread thread_;
};

// The origin: accepts the WebSocket handshake ferry forwards, then sends `greeting` (if any)
// and echoes every message with its type until the client closes.
void websocket_echo(origin_connection& c, const std::string& greeting) {
    auto head = c.read_head();
    if (head.empty()) return;
    asio::io_context io;
    websocket::stream<tcp::socket> ws(tcp::socket(io, tcp::v4(), ::dup(c.stream.fd())));
    beast::error_code ec;
    ws.accept(asio::buffer(head), ec);
    if (ec) return;
    if (!greeting.empty()) {
        ws.binary(true);
        ws.write(asio::buffer(greeting), ec);
    }
    for (int i = 0; !ec && i < 1000; ++i) {
        beast::flat_buffer message;
        ws.read(message, ec);
        if (ec) break; // a close frame is answered by Beast itself
        ws.text(ws.got_text());
        ws.write(message.data(), ec);
    }
}

struct websocket_client {
    asio::io_context io;
    websocket::stream<tcp::socket> ws{io};
};

std::string read_message(websocket::stream<tcp::socket>& ws, bool& text, beast::error_code& ec) {
    beast::flat_buffer message;
    ws.read(message, ec);
    text = ws.got_text();
    return beast::buffers_to_string(message.data());
}

} // namespace

TEST(WebSocket, TextBinaryAndLargeMessagesBothWaysThenACloseHandshake) {
    test_origin origin([](origin_connection& c) { websocket_echo(c, ""); });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();

    websocket_client client;
    auto& ws = client.ws;
    ws.next_layer().connect({asio::ip::make_address_v4("127.0.0.1"), std::uint16_t(ferry.port())});
    watchdog guard(ws.next_layer().native_handle(), 30s);
    // A proxy is asked with the absolute form; Beast checks the 101 (Sec-WebSocket-Accept).
    websocket::response_type response;
    beast::error_code ec;
    ws.handshake(response, origin.authority(), origin.url("/ws"), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(response.result_int(), 101);
    EXPECT_EQ(response[beast::http::field::via], "1.1 ferry");

    bool text = false;
    ws.text(true);
    ws.write(asio::buffer(std::string("hello, origin")), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(read_message(ws, text, ec), "hello, origin");
    EXPECT_TRUE(text);

    std::string every_byte;
    for (int b = 0; b < 256; ++b)
        every_byte.push_back(char(b));
    ws.binary(true);
    ws.write(asio::buffer(every_byte), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(read_message(ws, text, ec), every_byte);
    EXPECT_FALSE(text);

    // 1 MiB up, and the same 1 MiB back down, byte-exact.
    const auto large = pattern(1024 * 1024);
    ws.write(asio::buffer(large), ec);
    ASSERT_FALSE(ec) << ec.message();
    auto echoed = read_message(ws, text, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(echoed.size(), large.size());
    EXPECT_TRUE(echoed == large);

    ws.close(websocket::close_code::normal, ec);
    EXPECT_FALSE(ec) << ec.message();
    ASSERT_TRUE(origin.wait_closed(1, 5s));

    const auto seen = origin.received();
    EXPECT_EQ(seen.rfind("GET /ws HTTP/1.1\r\n", 0), 0u) << printable(seen);
    EXPECT_EQ(header_value(seen, "upgrade"), "websocket") << printable(seen);
    EXPECT_EQ(header_value(seen, "connection"), "upgrade") << printable(seen);
    EXPECT_EQ(header_value(seen, "via"), "1.1 ferry") << printable(seen);

    // The access log counts the whole tunnel each way.
    auto line = wait_for_line(ferry, {"GET " + origin.url("/ws") + " 101 "});
    ASSERT_FALSE(line.empty()) << ferry.out();
    const auto at = line.find(" 101 ");
    std::uint64_t to_client = 0, from_client = 0;
    ASSERT_EQ(std::sscanf(line.c_str() + at, " 101 %lu %lu", &to_client, &from_client), 2) << line;
    EXPECT_GT(to_client, large.size());
    EXPECT_GT(from_client, large.size());
}

TEST(WebSocket, OriginSpeaksFirstAndALargeMessageArrivesWhole) {
    const auto greeting = pattern(1024 * 1024, 7);
    test_origin origin([&greeting](origin_connection& c) { websocket_echo(c, greeting); });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();

    websocket_client client;
    auto& ws = client.ws;
    ws.next_layer().connect({asio::ip::make_address_v4("127.0.0.1"), std::uint16_t(ferry.port())});
    watchdog guard(ws.next_layer().native_handle(), 30s);
    beast::error_code ec;
    ws.handshake(origin.authority(), origin.url("/ws"), ec);
    ASSERT_FALSE(ec) << ec.message();
    bool text = true;
    auto got = read_message(ws, text, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_FALSE(text);
    EXPECT_EQ(got.size(), greeting.size());
    EXPECT_TRUE(got == greeting);
    ws.close(websocket::close_code::going_away, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(origin.wait_closed(1, 5s));
}

#include "app/admin.h"

#include "net/listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::string_view reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    default:
        return "Method Not Allowed";
    }
}

asio::awaitable<void> serve(tcp::socket socket, admin_server::page metrics) {
    using namespace asio::experimental::awaitable_operators;
    auto token = asio::as_tuple(asio::use_awaitable);
    asio::streambuf in(8 * 1024); // a scrape's head is small: more is a bad request
    asio::steady_timer timer(socket.get_executor());
    timer.expires_after(5s);
    auto r =
        co_await (asio::async_read_until(socket, in, "\r\n\r\n", token) || timer.async_wait(token));
    admin_answer answer{400, "text/plain; charset=utf-8", "ferry: bad request\n"};
    if (r.index() == 0) {
        auto [ec, n] = std::get<0>(r);
        if (ec) co_return; // closed, too large, or gone
        const std::string head(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + n);
        answer = admin_route(head, metrics);
    } else {
        co_return; // said nothing within 5 s
    }
    const std::string out = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n{}",
        answer.status, reason(answer.status), answer.content_type, answer.body.size(), answer.body);
    timer.expires_after(5s);
    co_await (asio::async_write(socket, asio::buffer(out), token) || timer.async_wait(token));
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
}

} // namespace

admin_answer admin_route(std::string_view head, const admin_server::page& metrics) {
    const auto line_end = head.find("\r\n");
    const auto line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 || !line.substr(sp2 + 1).starts_with("HTTP/1."))
        return {400, "text/plain; charset=utf-8", "ferry: bad request\n"};
    const auto method = line.substr(0, sp1);
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    const bool known = target == "/metrics" || target == "/healthz";
    if (!known) return {404, "text/plain; charset=utf-8", "ferry: not found\n"};
    if (method != "GET") return {405, "text/plain; charset=utf-8", "ferry: only GET\n"};
    if (target == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics()};
}

admin_server::admin_server(asio::io_context& io, tcp::acceptor acceptor, page metrics)
    : io_(io), acceptor_(std::move(acceptor)), metrics_(std::move(metrics)) {
    boost::system::error_code ec;
    port_ = acceptor_.local_endpoint(ec).port();
}

void admin_server::start() {
    asio::co_spawn(io_,
                   net::accept_loop(acceptor_,
                                    [this](tcp::socket s) {
                                        asio::co_spawn(io_, serve(std::move(s), metrics_),
                                                       asio::detached);
                                    }),
                   asio::detached);
}

void admin_server::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

} // namespace ferry::app

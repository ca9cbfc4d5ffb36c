#include "frontend/pages.h"

#include "http/head_parser.h"
#include "http/head_scanner.h"
#include "http/read_head.h"
#include "net/io.h"

#include <boost/asio/buffer.hpp>
#include <fmt/format.h>

namespace ferry::frontend {

namespace asio = boost::asio;

http::local_reply answer_page(std::string_view head, const page_handler& handler) {
    http::request_head request;
    const std::string copy(head); // the parsed head points into it
    if (auto e = http::parse_request_head(copy, copy.size(), request); e != http::parse_error::none)
        return {400, fmt::format("ferry: {}\n", http::describe(e)), true};
    auto reply = handler(request);
    reply.close = true;
    reply.head_only = request.method == "HEAD" && reply.status < 300;
    return reply;
}

asio::awaitable<bool> read_page_request(net::stream& client, page_limits limits,
                                        page_request& out) {
    net::byte_buffer in(4096);
    http::head_scanner scanner(limits.max_head, limits.max_head, true);
    const net::inbound from{client, in, limits.max_head + 1024};
    auto r = co_await http::read_head(from, scanner, {limits.timeout, limits.timeout});
    switch (r.status) {
    case http::head_read_status::complete: {
        const auto begin = scanner.head_begin();
        out.store = in.data().substr(begin, r.scan.head_end - begin);
        if (auto e = http::parse_request_head(out.store, out.store.size(), out.head);
            e != http::parse_error::none) {
            out.refusal = {400, fmt::format("ferry: {}\n", http::describe(e)), true};
            co_return true;
        }
        out.parsed = true;
        co_return true;
    }
    case http::head_read_status::malformed:
        out.refusal = {r.scan.status == http::scan_status::bare_lf ? 400 : 431,
                       r.scan.status == http::scan_status::bare_lf
                           ? "ferry: request line or header not ended by CRLF\n"
                           : "ferry: request header section too large\n",
                       true};
        co_return true;
    default:
        client.close();
        co_return false;
    }
}

asio::awaitable<void> send_page_reply(net::stream& client, const http::local_reply& reply,
                                      std::string_view date, std::chrono::milliseconds timeout) {
    std::string out;
    http::write_local_reply(reply, "ferry", date, out);
    co_await client.write(asio::buffer(out), timeout);
    client.shutdown_send();
    client.close();
}

asio::awaitable<void> serve_page(net::stream& client, const page_handler& handler,
                                 page_limits limits, const std::function<std::string()>& date) {
    page_request request;
    if (!co_await read_page_request(client, limits, request)) co_return;
    http::local_reply reply = request.refusal;
    if (request.parsed) {
        reply = handler(request.head);
        reply.close = true;
        reply.head_only = request.head.method == "HEAD" && reply.status < 300;
    }
    const std::string now = date();
    co_await send_page_reply(client, reply, now, limits.timeout);
}

} // namespace ferry::frontend

// ferry's own HTTP server, for pages about ferry (the admin listener's /metrics and
// /healthz): the same head scanner, head reader, parser and reply writer as the proxy's
// HTTP/1 front end, with a handler that maps a parsed request to a local reply. One
// request per connection, answered and closed.
#pragma once

#include "http/head.h"
#include "http/local_reply.h"
#include "net/stream.h"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace ferry::frontend {

// Answers one well-formed request.
using page_handler = std::function<http::local_reply(const http::request_head&)>;

// What a request head gets: 400 naming the cause when it does not parse, else the handler's
// answer. Pure.
http::local_reply answer_page(std::string_view head, const page_handler& handler);

struct page_limits {
    std::size_t max_head = 8 * 1024;         // a page request's head is small: more is a 400
    std::chrono::milliseconds timeout{5000}; // to send the head, and to read the answer
};

// One page request as read: the parsed head (pointing into `store`), or the answer refusing a
// malformed one.
struct page_request {
    std::string store;
    http::request_head head;
    bool parsed = false;
    http::local_reply refusal; // when !parsed
};

// Reads one request head from `client` into `out`; false when the client went (closed, cut
// short or silent: nobody to answer).
boost::asio::awaitable<bool> read_page_request(net::stream& client, page_limits limits,
                                               page_request& out);

// Writes `reply` (closing the connection) and closes.
boost::asio::awaitable<void> send_page_reply(net::stream& client, const http::local_reply& reply,
                                             std::string_view date,
                                             std::chrono::milliseconds timeout);

// Reads one request head from `client`, answers it and closes. `date` gives the Date
// field's value when the answer is written.
boost::asio::awaitable<void> serve_page(net::stream& client, const page_handler& handler,
                                        page_limits limits,
                                        const std::function<std::string()>& date);

} // namespace ferry::frontend

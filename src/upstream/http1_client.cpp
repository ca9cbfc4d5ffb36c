#include "upstream/http1_client.h"

#include "http/head_parser.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <fmt/format.h>

namespace ferry::upstream {

namespace asio = boost::asio;
using core::errc;
using core::error;

namespace {

double seconds(std::chrono::milliseconds d) {
    return double(d.count()) / 1000.0;
}

// Why no response head could be read from `label`.
error head_read_problem(const http::head_read_result& r, std::string_view label,
                        std::chrono::milliseconds timeout) {
    using http::head_read_status;
    switch (r.status) {
    case head_read_status::closed:
    case head_read_status::failed:
        return {errc::upstream_closed,
                fmt::format("ferry: {} closed the connection without a response", label)};
    case head_read_status::cut_short:
        return {errc::upstream_closed,
                fmt::format("ferry: {} closed the connection in the middle of the response head",
                            label)};
    case head_read_status::idle_timeout:
    case head_read_status::timeout:
        return {errc::response_timeout,
                fmt::format("ferry: no response from {} within {}s", label, seconds(timeout))};
    case head_read_status::malformed:
    case head_read_status::complete:
        break;
    }
    return {errc::bad_response,
            fmt::format("ferry: malformed response head from {} ({})", label,
                        r.scan.status == http::scan_status::bare_lf ? "line not ended by CRLF"
                                                                    : "header section too large")};
}

// A head read whole: its bytes move to storage.bytes and leave the buffer.
void take_head(connection& c, head_storage storage, const http::head_read_result& r) {
    const auto begin = storage.scanner.head_begin();
    storage.bytes.assign(c.buffer.data().substr(begin, r.scan.head_end - begin));
    c.buffer.consume(r.scan.head_end);
}

} // namespace

net::inbound body_source(connection& c, std::size_t max_header_size) {
    return {*c.stream, c.buffer, std::max<std::size_t>(max_header_size + 1024, 64 * 1024)};
}

void write_request_head(const route& where, const http::request_head& request,
                        const http::target& dest, const http::framing_fields& framing,
                        const http::request_options& options, std::string_view parent_authorization,
                        std::string& out) {
    if (where.parent)
        http::write_parent_request(request, dest, framing, options, parent_authorization, out);
    else
        http::write_forward_request(request, dest, framing, options, out);
}

send_result send_outcome(const connection& c, const net::error_code& ec) {
    send_result result;
    if (ec) {
        result.problem = {
            errc::upstream_closed,
            fmt::format("ferry: cannot send the request to {} ({})", c.label, ec.message())};
        result.retryable = true;
    }
    return result;
}

head_result take_response_head(connection& c, head_storage storage,
                               const http::head_read_result& read,
                               std::chrono::milliseconds timeout) {
    head_result result;
    if (read.status != http::head_read_status::complete) {
        result.problem = head_read_problem(read, c.label, timeout);
        result.nothing_received = read.status == http::head_read_status::closed ||
                                  read.status == http::head_read_status::failed;
        return result;
    }
    take_head(c, storage, read);
    if (auto e = http::parse_response_head(storage.bytes, storage.head);
        e != http::parse_error::none)
        result.problem = {errc::bad_response, fmt::format("ferry: invalid response from {}: {}",
                                                          c.label, http::describe(e))};
    return result;
}

asio::awaitable<error> open_tunnel(connection& c, const tunnel_request& request,
                                   std::string& scratch, head_storage storage,
                                   std::size_t max_header_size, tunnel_timeouts timeouts) {
    const auto& dest = request.dest;
    scratch.clear();
    http::write_parent_connect(request.head, dest, request.authorization, request.options, scratch);
    if (auto ec = co_await net::write_all(body_sink(c), asio::buffer(scratch), timeouts.send))
        co_return error{errc::upstream_closed, fmt::format("ferry: cannot send CONNECT to {} ({})",
                                                           c.label, ec.message())};
    auto r = co_await http::read_head(body_source(c, max_header_size), storage.scanner,
                                      {timeouts.answer, timeouts.answer});
    using http::head_read_status;
    switch (r.status) {
    case head_read_status::complete:
        break;
    case head_read_status::idle_timeout:
    case head_read_status::timeout:
        co_return error{errc::response_timeout,
                        fmt::format("ferry: no answer to CONNECT from {}", c.label)};
    case head_read_status::malformed:
        co_return error{errc::bad_response,
                        fmt::format("ferry: malformed answer to CONNECT from {}", c.label)};
    default:
        co_return error{
            errc::upstream_closed,
            fmt::format("ferry: {} closed the connection instead of answering CONNECT", c.label)};
    }
    take_head(c, storage, r);
    if (auto e = http::parse_response_head(storage.bytes, storage.head);
        e != http::parse_error::none)
        co_return error{errc::bad_response,
                        fmt::format("ferry: invalid answer to CONNECT from {}: {}", c.label,
                                    http::describe(e))};
    // A proxy further on found this CONNECT had been through it already: the client is told
    // so, not that the parent failed.
    if (storage.head.status == 508)
        co_return error{errc::forwarding_loop,
                        fmt::format("ferry: forwarding loop: {} answered CONNECT to {} with {}",
                                    c.label, dest.where.text, storage.head.status_line)};
    if (storage.head.status < 200 || storage.head.status > 299)
        co_return error{errc::bad_response,
                        fmt::format("ferry: {} refused CONNECT to {}: {}", c.label, dest.where.text,
                                    storage.head.status_line)};
    co_return error{};
}

} // namespace ferry::upstream

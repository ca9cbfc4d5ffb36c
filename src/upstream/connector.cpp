#include "upstream/connector.h"

#include "upstream/address_order.h"
#include "upstream/special_names.h"

#include <boost/asio/ip/v6_only.hpp>
#include <fmt/format.h>
#include <string>

namespace ferry::upstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using core::errc;

namespace {
std::string label(std::string_view host, std::uint16_t port) {
    if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

core::error cannot_resolve(std::string_view host) {
    return {errc::resolve_failed, fmt::format("ferry: cannot resolve {}", host)};
}

// A DNS query that did not complete: the connect deadline ended it, or the resolver failed.
core::error query_failed(std::string_view host, bool timed_out) {
    if (timed_out)
        return {errc::resolve_timeout, fmt::format("ferry: timed out resolving {}", host)};
    return cannot_resolve(host);
}

// Why `endpoint` may not be tried (no error: it may): it is this proxy itself, or the access
// rules deny its address.
core::error refusal(const connect_request& request, const tcp::endpoint& endpoint,
                    std::string_view where) {
    if (request.is_self && request.is_self(endpoint))
        return {errc::loop_detected, fmt::format("ferry: {} is this proxy itself", where)};
    if (request.denied) {
        if (auto reason = request.denied(endpoint.address()); !reason.empty())
            return {errc::forbidden, std::move(reason)};
    }
    return {};
}

// When one attempt must end: while other addresses remain, one that does not answer
// costs at most the attempt timeout; the last one gets what is left.
net::steady_time attempt_deadline(net::steady_time now, net::steady_time overall,
                                  std::chrono::milliseconds attempt_timeout, bool more) {
    return more ? std::min(overall, now + attempt_timeout) : overall;
}

enum class after_attempt { try_next, give_up, out_of_time };

// What a failed attempt leaves to do; `last` becomes the failure to report. An attempt cut
// by its own timeout moves on; one cut by the overall deadline, or cancelled (the session is
// being closed), ends the connect.
after_attempt judge_failure(boost::system::error_code cec, bool expired, bool at_overall,
                            boost::system::error_code& last) {
    last = cec;
    if (expired) {
        if (at_overall) return after_attempt::out_of_time;
        last = asio::error::timed_out;
        return after_attempt::try_next;
    }
    if (cec == asio::error::operation_aborted) return after_attempt::give_up;
    return after_attempt::try_next;
}

// After every address failed: the last failure, or the deadline's end.
core::error connect_failure(std::string_view where, bool timed_out,
                            const boost::system::error_code& last) {
    if (timed_out)
        return {errc::connect_timeout, fmt::format("ferry: timed out connecting to {}", where)};
    core::error e{errc::connect_failed,
                  fmt::format("ferry: cannot connect to {} ({})", where, last.message())};
    if (last.category() == boost::system::system_category()) e.system_error = last.value();
    return e;
}
} // namespace

local_answer resolve_locally(std::string_view host, std::vector<asio::ip::address>& addresses) {
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(std::string(host), ec);
    if (!ec) {
        addresses.push_back(literal);
        return local_answer::answered;
    }
    switch (classify_name(host)) {
    case special_name::invalid:
        return local_answer::invalid;
    case special_name::loopback:
        addresses.push_back(asio::ip::address_v6::loopback());
        addresses.push_back(asio::ip::address_v4::loopback());
        return local_answer::answered;
    case special_name::none:
        return local_answer::needs_query;
    }
    return local_answer::answered; // (not reached: every kind of name is handled above)
}

asio::awaitable<core::error> connect(net::tcp_stream& stream, resolver& names,
                                     const connect_request& request) {
    auto& socket = stream.socket();
    auto& timer = stream.writing;
    const auto& now = stream.now();
    const auto where = label(request.host, request.port);
    const net::steady_time overall = now + request.timeout;

    // The address list: without DNS when the host allows, else by a query under the deadline.
    std::vector<asio::ip::address> addresses;
    switch (resolve_locally(request.host, addresses)) {
    case local_answer::invalid:
        co_return cannot_resolve(request.host);
    case local_answer::answered:
        break;
    case local_answer::needs_query: {
        timer.arm_at(overall);
        // Named, not a temporary: GCC 12 mishandles class temporaries in co_await.
        const std::string name(request.host);
        auto [rec, result] = co_await names.async_resolve(name, timer.bind());
        timer.disarm();
        if (rec) co_return query_failed(request.host, timer.expired);
        if (result.error) co_return std::move(result.error);
        addresses = std::move(result.addresses);
        break;
    }
    }
    addresses = interleave_families(addresses);

    // The addresses in turn, until one connects.
    boost::system::error_code last = asio::error::host_not_found, ignored;
    bool timed_out = false;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const tcp::endpoint endpoint(addresses[i], request.port);
        if (auto refused = refusal(request, endpoint, where)) {
            socket.close(ignored);
            co_return std::move(refused);
        }
        if (now >= overall) {
            timed_out = true;
            break;
        }
        const auto until =
            attempt_deadline(now, overall, request.attempt_timeout, i + 1 < addresses.size());
        socket.close(ignored);
        timer.arm_at(until);
        auto [cec] = co_await socket.async_connect(endpoint, timer.bind());
        timer.disarm();
        if (!cec) {
            socket.set_option(tcp::no_delay(true), ignored);
            co_return core::error{};
        }
        const auto next = judge_failure(cec, timer.expired, until == overall, last);
        timed_out = next == after_attempt::out_of_time;
        if (next != after_attempt::try_next) break;
    }
    socket.close(ignored);
    co_return connect_failure(where, timed_out, last);
}

} // namespace ferry::upstream

#include "upstream/connector.h"

#include "upstream/address_order.h"
#include "upstream/happy_eyeballs.h"
#include "upstream/special_names.h"

#include <boost/asio/ip/v6_only.hpp>
#include <fmt/format.h>
#include <string>
#include <vector>

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

// Every address judged before the first attempt, so that what is judged is what is
// connected to: one that is this proxy ends the connect (a loop), denied ones are left out;
// when none is left, the first refusal is the answer.
core::error judge_addresses(const connect_request& request, std::string_view where,
                            std::vector<asio::ip::address>& addresses) {
    if (request.is_self) {
        for (const auto& a : addresses)
            if (request.is_self(tcp::endpoint(a, request.port)))
                return {errc::loop_detected, fmt::format("ferry: {} is this proxy itself", where)};
    }
    if (!request.denied) return {};
    core::error first;
    std::erase_if(addresses, [&](const asio::ip::address& a) {
        auto reason = request.denied(a);
        if (reason.empty()) return false;
        if (!first) first = {errc::forbidden, std::move(reason)};
        return true;
    });
    if (addresses.empty()) return first;
    return {};
}

// After every address failed: the last failure, or the deadline's end.
core::error connect_failure(std::string_view where, const race_outcome& outcome) {
    const auto& last = outcome.last;
    if (outcome.timed_out)
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
    if (auto refused = judge_addresses(request, where, addresses)) co_return refused;
    if (now >= overall) co_return connect_failure(where, {asio::error::timed_out, true});

    // One address: one attempt, in the stream's socket. More: a race (happy_eyeballs.h).
    boost::system::error_code ignored;
    socket.close(ignored);
    timer.arm_at(overall);
    race_outcome outcome;
    if (addresses.size() == 1) {
        const tcp::endpoint endpoint(addresses.front(), request.port);
        auto [cec] = co_await socket.async_connect(endpoint, timer.bind());
        outcome = {cec, cec && timer.expired};
    } else {
        const race_timing timing{request.happy_eyeballs_delay, request.attempt_timeout};
        outcome = co_await race_addresses(stream, addresses, request.port, timing);
    }
    timer.disarm();
    if (!outcome.last) {
        socket.set_option(tcp::no_delay(true), ignored);
        co_return core::error{};
    }
    socket.close(ignored);
    co_return connect_failure(where, outcome);
}

} // namespace ferry::upstream

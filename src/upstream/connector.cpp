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
} // namespace

asio::awaitable<core::error> connect(net::tcp_stream& stream, resolver& names,
                                     const connect_request& request) {
    auto& socket = stream.socket();
    auto& timer = stream.writing;
    const auto& now = stream.now();
    const auto where = label(request.host, request.port);
    const net::steady_time overall = now + request.timeout;
    std::vector<asio::ip::address> addresses;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(std::string(request.host), ec);
    if (!ec) {
        addresses.push_back(literal);
    } else {
        switch (classify_name(request.host)) {
        case special_name::invalid:
            co_return core::error{errc::resolve_failed,
                                  fmt::format("ferry: cannot resolve {}", request.host)};
        case special_name::loopback:
            addresses.push_back(asio::ip::address_v6::loopback());
            addresses.push_back(asio::ip::address_v4::loopback());
            break;
        case special_name::none: {
            timer.arm_at(overall);
            // Named, not a temporary: GCC 12 mishandles class temporaries in co_await.
            const std::string name(request.host);
            auto [rec, result] = co_await names.async_resolve(name, timer.bind());
            timer.disarm();
            if (rec) {
                if (timer.expired)
                    co_return core::error{
                        errc::resolve_timeout,
                        fmt::format("ferry: timed out resolving {}", request.host)};
                co_return core::error{errc::resolve_failed,
                                      fmt::format("ferry: cannot resolve {}", request.host)};
            }
            if (result.error) co_return std::move(result.error);
            addresses = std::move(result.addresses);
            break;
        }
        }
    }
    addresses = interleave_families(addresses);

    boost::system::error_code last = asio::error::host_not_found;
    bool timed_out = false;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const tcp::endpoint endpoint(addresses[i], request.port);
        if (request.is_self && request.is_self(endpoint)) {
            socket.close(ec);
            co_return core::error{errc::loop_detected,
                                  fmt::format("ferry: {} is this proxy itself", where)};
        }
        if (request.denied) {
            if (auto reason = request.denied(addresses[i]); !reason.empty()) {
                socket.close(ec);
                co_return core::error{errc::forbidden, std::move(reason)};
            }
        }
        if (now >= overall) {
            timed_out = true;
            break;
        }
        // While other addresses remain, one that does not answer costs at most the attempt
        // timeout; the last one gets what is left.
        const bool more = i + 1 < addresses.size();
        const auto until = more ? std::min(overall, now + request.attempt_timeout) : overall;
        boost::system::error_code ignored;
        socket.close(ignored);
        timer.arm_at(until);
        auto [cec] = co_await socket.async_connect(endpoint, timer.bind());
        timer.disarm();
        if (!cec) {
            socket.set_option(tcp::no_delay(true), ignored);
            co_return core::error{};
        }
        last = cec;
        if (timer.expired) {
            if (until == overall) {
                timed_out = true;
                break;
            }
            last = asio::error::timed_out;
            continue;
        }
        if (cec == asio::error::operation_aborted) break; // the session is being closed
    }
    socket.close(ec);
    if (timed_out)
        co_return core::error{errc::connect_timeout,
                              fmt::format("ferry: timed out connecting to {}", where)};
    co_return core::error{errc::connect_failed,
                          fmt::format("ferry: cannot connect to {} ({})", where, last.message())};
}

} // namespace ferry::upstream

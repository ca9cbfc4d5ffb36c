#include "upstream/connector.h"

#include "upstream/special_names.h"

#include <boost/asio/ip/v6_only.hpp>
#include <fmt/format.h>
#include <string>

namespace ferry::upstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using proxy::errc;

namespace {
std::string label(std::string_view host, std::uint16_t port) {
    if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}
} // namespace

asio::awaitable<proxy::error> connect(tcp::socket& socket, tcp::resolver& resolver,
                                      net::deadline& timer, const net::steady_time& now,
                                      const connect_request& request) {
    const auto where = label(request.host, request.port);
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(std::string(request.host), ec);
    if (!ec) {
        endpoints.emplace_back(literal, request.port);
    } else {
        switch (classify_name(request.host)) {
        case special_name::invalid:
            co_return proxy::error{errc::resolve_failed,
                                   fmt::format("ferry: cannot resolve {}", request.host)};
        case special_name::loopback:
            endpoints.emplace_back(asio::ip::address_v4::loopback(), request.port);
            endpoints.emplace_back(asio::ip::address_v6::loopback(), request.port);
            break;
        case special_name::none: {
            timer.arm(now + request.timeout);
            // Named, not temporaries: GCC 12 mishandles class temporaries in co_await.
            const std::string name(request.host), service = std::to_string(request.port);
            auto [rec, results] = co_await resolver.async_resolve(
                name, service, tcp::resolver::numeric_service, timer.bind());
            timer.disarm();
            if (rec) {
                if (timer.expired)
                    co_return proxy::error{
                        errc::connect_timeout,
                        fmt::format("ferry: timed out resolving {}", request.host)};
                co_return proxy::error{errc::resolve_failed,
                                       fmt::format("ferry: cannot resolve {}", request.host)};
            }
            for (const auto& entry : results)
                endpoints.push_back(entry.endpoint());
            break;
        }
        }
    }

    timer.arm(now + request.timeout);
    boost::system::error_code last = asio::error::host_not_found;
    for (const auto& endpoint : endpoints) {
        if (request.is_self && request.is_self(endpoint)) {
            timer.disarm();
            co_return proxy::error{errc::loop_detected,
                                   fmt::format("ferry: {} is this proxy itself", where)};
        }
        boost::system::error_code ignored;
        socket.close(ignored);
        auto [cec] = co_await socket.async_connect(endpoint, timer.bind());
        if (!cec) {
            timer.disarm();
            socket.set_option(tcp::no_delay(true), ignored);
            co_return proxy::error{};
        }
        last = cec;
        if (timer.expired) break;
    }
    timer.disarm();
    socket.close(ec);
    if (timer.expired)
        co_return proxy::error{errc::connect_timeout,
                               fmt::format("ferry: timed out connecting to {}", where)};
    co_return proxy::error{errc::connect_failed,
                           fmt::format("ferry: cannot connect to {} ({})", where, last.message())};
}

} // namespace ferry::upstream

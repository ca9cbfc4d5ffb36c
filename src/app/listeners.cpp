#include "app/listeners.h"

#include "config/values.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <fmt/format.h>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool resolve_listen(const config::listen_address& a, std::vector<tcp::endpoint>& out) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(a.host, ec);
    if (!ec) {
        out.emplace_back(address, a.port);
        return true;
    }
    asio::io_context io;
    tcp::resolver resolver(io);
    auto results =
        resolver.resolve(a.host, std::to_string(a.port), tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        std::fprintf(stderr, "ferry: cannot resolve listen address %s: %s\n", a.host.c_str(),
                     ec ? ec.message().c_str() : "no address");
        return false;
    }
    out.push_back(results.begin()->endpoint());
    return true;
}

bool resolve_listeners(const std::vector<config::listen_address>& addresses,
                       std::vector<listener>& out, std::string_view prefix) {
    for (const auto& a : addresses) {
        const auto* front_end = frontend::front_end_for(a.scheme);
        if (!front_end) {
            std::fprintf(stderr, "%.*sno front end serves %s\n", int(prefix.size()), prefix.data(),
                         config::format_listen_address(a).c_str());
            return false;
        }
        std::vector<tcp::endpoint> endpoints;
        if (!resolve_listen(a, endpoints)) return false;
        out.push_back(
            {endpoints.front(), front_end,
             a.proxy_protocol ? a.proxy_protocol_from : std::vector<config::direct_rule>{}});
    }
    return true;
}

bool plan_listeners(const std::vector<listener>& wanted, const listener_list& running,
                    const claim_fn& claim, listener_change& change, std::string& why) {
    auto same = [](const running_listener& r, const listener& w) {
        return r.wanted == w.endpoint && r.bound.front_end == w.front_end &&
               r.bound.proxy_protocol_from == w.proxy_protocol_from;
    };
    for (const auto& w : wanted) {
        auto kept =
            std::find_if(running.begin(), running.end(), [&](const auto& r) { return same(r, w); });
        if (kept != running.end()) {
            change.next.push_back(*kept);
            continue;
        }
        // The same endpoint under another scheme or PROXY protocol setting: the port is
        // ferry's already, and its old acceptors close before the new ones open.
        auto rescheme = std::find_if(running.begin(), running.end(),
                                     [&](const auto& r) { return r.wanted == w.endpoint; });
        tcp::endpoint bound;
        if (rescheme != running.end()) {
            bound = rescheme->bound.endpoint;
        } else {
            boost::system::error_code ec;
            bound = claim(w.endpoint, ec);
            if (ec) {
                why = fmt::format("cannot listen on {}:{}: {}", w.endpoint.address().to_string(),
                                  w.endpoint.port(), ec.message());
                return false;
            }
        }
        change.next.push_back({w.endpoint, {bound, w.front_end, w.proxy_protocol_from}});
        change.open.push_back({bound, w.front_end, w.proxy_protocol_from});
    }
    for (const auto& r : running)
        if (std::none_of(change.next.begin(), change.next.end(), [&](const auto& n) {
                return n.wanted == r.wanted && n.bound.front_end == r.bound.front_end &&
                       n.bound.proxy_protocol_from == r.bound.proxy_protocol_from;
            }))
            change.close.push_back(r.bound);
    return true;
}

} // namespace ferry::app

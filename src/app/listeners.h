// The proxy's listeners: each listen address resolved, bound once, and served by the front
// end its scheme names (frontend/registry). At start-up every one is new; a reload keeps the
// ones it still wants, claims the new ones and closes the rest.
#pragma once

#include "config/settings.h"
#include "frontend/registry.h"

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

// An endpoint and the front end that serves the connections accepted there.
struct listener {
    boost::asio::ip::tcp::endpoint endpoint;
    const frontend::front_end* front_end = nullptr;
    // The PROXY protocol (issue 17): the balancers whose headers this listener believes; empty:
    // no header is read. Part of the listener's identity, as its front end is.
    std::vector<config::direct_rule> proxy_protocol_from{};
};

// A running listener: its endpoint as configured (port 0 stays 0, which keeps the port
// chosen at binding across reloads) and as bound.
struct running_listener {
    boost::asio::ip::tcp::endpoint wanted;
    listener bound;
};
using listener_list = std::vector<running_listener>;

// What a reload does to the listeners: the new list, the listeners to open and those to close
// (closed first: a listener whose scheme changed reopens on the same bound endpoint).
struct listener_change {
    listener_list next;
    std::vector<listener> open, close;
};

// Binds an endpoint no listener of ferry holds yet, to check that no other process serves it;
// returns it as bound (the port chosen when 0), or sets `ec`.
using claim_fn = std::function<boost::asio::ip::tcp::endpoint(const boost::asio::ip::tcp::endpoint&,
                                                              boost::system::error_code&)>;

// Resolves every listen address (an IP literal or a name from /etc/hosts) and finds the front
// end of its scheme; false, the reason printed after `prefix`, when one cannot be resolved or
// has no front end (the configuration refuses such a scheme already).
bool resolve_listeners(const std::vector<config::listen_address>& addresses,
                       std::vector<listener>& out, std::string_view prefix);

// One address to an endpoint, for the admin listener too; false, the reason printed, when the
// name does not resolve.
bool resolve_listen(const config::listen_address& a,
                    std::vector<boost::asio::ip::tcp::endpoint>& out);

// The change from `running` to `wanted`. A listener is the same one when its configured
// endpoint, its front end and its PROXY protocol balancers are; one whose endpoint runs under
// another front end or other balancers (its scheme or proxy_protocol changed) keeps the bound
// port and reopens so; any other is claimed
// (a port in use fails the whole plan). Empty `running`: start-up. False, with `why`, when a
// claim fails.
bool plan_listeners(const std::vector<listener>& wanted, const listener_list& running,
                    const claim_fn& claim, listener_change& change, std::string& why);

} // namespace ferry::app

// `ferry explain` and the admin listener's /explain: what ferry would do with one request,
// without sending anything to its origin — the access rule that decides (and why each earlier
// one did not), the route (direct or the parent, and why), the addresses the name resolves to
// and the CIDR rules they meet (and whether each is a protected destination: safe
// destinations, policy/destinations), the CONNECT port rule, the authentication, the timeouts.
//
// The decisions are the proxy's own: proxy::decide() on the request head a client would send,
// policy::evaluate() with its trace, upstream::why_route(), the connector's local answers and
// address order. This file is pure: explain_first() says what to resolve, explain_finish()
// takes the addresses (explain_run.cpp does the lookup with ferry's resolver).
#pragma once

#include "auth/htpasswd.h"
#include "config/settings.h"
#include "core/error.h"
#include "policy/acl.h"

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::app {

// What is asked: `ferry explain [--client IP] [--user U] [--method M] URL|host:port`, or the
// query of /explain.
struct explain_args {
    std::string target; // http://host[:port]/path, https://host[:port]/, host:port, host
    std::string client = "127.0.0.1";
    std::optional<std::string> user;
    std::string method; // "": GET, or CONNECT for host:port and https:// URLs
};

// The running configuration the request is judged against.
struct explain_env {
    const config::settings& settings;
    policy::default_policy fallback = policy::default_policy::loopback_only;
    const auth::user_table* users = nullptr;              // the htpasswd users; null: none
    std::span<const boost::asio::ip::tcp::endpoint> self; // ferry's listeners (loop detection)
    // The admin listener, if any (safe destinations refuse it).
    std::optional<boost::asio::ip::tcp::endpoint> admin{};
};

// Exit status: 0 allowed, 1 denied or refused, 2 a usage error (the text is then one line).
struct explain_outcome {
    std::string text;
    int exit_code = 0;
};

// The name's addresses, as ferry's resolver gave them (in DNS order).
struct explain_lookup {
    std::vector<boost::asio::ip::address> addresses;
    core::error error; // resolve_failed or resolve_timeout when there are none
};

// What explain_first() decided: either the whole answer (`done`), or the name to resolve
// and everything explain_finish() needs.
struct explain_state {
    explain_outcome out;
    bool done = false;
    std::string resolve; // the name to look up (when not done)
    // The request as judged.
    boost::asio::ip::address client;
    std::string method, host;
    std::uint16_t port = 0;
    bool tunnel = false;
    std::optional<std::string> acl_user;         // the user the access rules see
    std::vector<boost::asio::ip::address> local; // addresses known without DNS
    bool direct = true; // no parent in the way: ferry resolves and connects itself
};

explain_state explain_first(const explain_env& env, const explain_args& args);

// The rest of the answer once `found` holds the addresses of state.resolve (ignored when
// there was no name to resolve).
explain_outcome explain_finish(const explain_env& env, explain_state state,
                               const explain_lookup& found);

// "10 s", "0.5 s".
std::string seconds_text(config::duration d);

} // namespace ferry::app

// The admin listener's /explain, /proxy.pac and /wpad.dat: `ferry explain` over HTTP and the
// PAC file, from the running configuration. On the main thread's loop, as the rest of the
// admin listener: the DNS step of /explain uses a resolver of this loop's own, asynchronously.
#pragma once

#include "app/admin.h"
#include "app/explain.h"
#include "app/pac.h"
#include "auth/htpasswd.h"
#include "config/settings.h"
#include "http/head.h"
#include "http/local_reply.h"
#include "policy/acl.h"
#include "upstream/resolver.h"

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace ferry::app {

// What the pages read of the running server, each time, on the main thread's loop (where a
// reload replaces them).
struct explain_sources {
    std::function<std::shared_ptr<const config::settings>()> settings;
    std::function<policy::default_policy()> fallback;
    std::function<std::shared_ptr<const auth::user_table>()> users; // null: no htpasswd
    std::function<std::vector<pac_listener>()> listeners;           // as bound
    // The admin listener's bound endpoint (safe destinations refuse it).
    std::function<std::optional<boost::asio::ip::tcp::endpoint>()> admin{};
};

class explain_pages {
public:
    // `start`: the settings at start (the resolver's DNS settings change only on restart).
    explain_pages(boost::asio::io_context& io, const config::settings& start,
                  explain_sources sources);

    // /explain, /proxy.pac and /wpad.dat, one registration each (GET and HEAD: the admin
    // listener answers other methods).
    void add_routes(admin_routes& routes);

    void stop() { resolver_.shutdown(); }

private:
    boost::asio::awaitable<http::local_reply> explain(std::string_view query);
    // The PAC file for a request (its Host names a wildcard listener).
    http::local_reply pac(const http::request_head& r) const;

    explain_sources sources_;
    upstream::resolver resolver_;
};

// The /explain query (url=…&client=…&user=…&method=…) as explain's arguments; "" or what is
// wrong with it. Pure.
std::string parse_explain_query(std::string_view query, explain_args& out);

} // namespace ferry::app

// What an exchange needs of the place it runs in — and nothing else. The worker implements
// it over its loop, pool, resolver and logs (app/worker.h); a unit test implements it over
// in-memory streams and a scripted origin (tests/unit/proxy). proxy/ never includes app/.
#pragma once

#include "auth/authenticator.h"
#include "config/settings.h"
#include "core/error.h"
#include "http/head.h"
#include "http/local_reply.h"
#include "net/deadline.h"
#include "observe/exchange_record.h"
#include "observe/metrics.h"
#include "policy/acl.h"
#include "upstream/connection.h"
#include "upstream/connector.h"
#include "upstream/parent_tls.h"
#include "upstream/pool.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace ferry::proxy {

class context {
public:
    virtual ~context() = default;

    // The settings new exchanges start under; a reload replaces them. An exchange keeps the
    // snapshot it started with.
    virtual const std::shared_ptr<const config::settings>& settings() const = 0;
    // The loop's coarse clock, and the Date field value for this second.
    virtual const net::steady_time& now() const = 0;
    virtual const std::string& http_date() const = 0;
    // The ticker that expires the deadlines of streams made on this loop.
    virtual net::deadline_list& deadlines() = 0;
    // ferry's own listeners, for loop detection.
    virtual std::span<const boost::asio::ip::tcp::endpoint> self() const = 0;
    // Who may use ferry when no access rule is configured.
    virtual policy::default_policy default_policy() const = 0;
    // ferry's admin listener, when there is one: safe destinations refuse it
    // (policy/destinations).
    virtual std::optional<boost::asio::ip::tcp::endpoint> admin_endpoint() const {
        return std::nullopt;
    }
    // Which loop this is (the status page names it).
    virtual unsigned index() const = 0;
    // Shutting down: finish what is in flight, keep nothing for later.
    virtual bool draining() const = 0;

    virtual upstream::pool& pool() = 0;
    virtual auth::authenticator& auth() = 0;
    virtual observe::metrics_shard& metrics() = 0;

    // An upstream connection not yet connected, on this loop; then connected to where
    // `request` says (resolving the name first), within its deadlines.
    virtual std::unique_ptr<upstream::connection> new_connection() = 0;
    virtual boost::asio::awaitable<core::error>
    connect(upstream::connection& c, const upstream::connect_request& request) = 0;
    // TLS to parents (--parent https://): the client context and this loop's sessions;
    // null where there is no TLS (a test's context).
    virtual upstream::parent_tls* parent_tls() { return nullptr; }

    // The exchange ended: count it, and write its access-log line and flow-log block.
    virtual void log_exchange(const observe::exchange_record& r) = 0;
    // With --status-on-proxy-port: what the admin listener answers to `head` for `target`
    // (path and query), or none when there is no admin listener.
    virtual boost::asio::awaitable<std::optional<http::local_reply>>
    admin_page(const http::request_head& head, std::string_view target) {
        (void)head;
        (void)target;
        co_return std::nullopt;
    }
};

} // namespace ferry::proxy

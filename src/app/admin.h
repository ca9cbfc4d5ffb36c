// The admin listener (--admin-listen), on the main thread's loop so that a busy worker never
// delays it: the status page (/), the live flow (/flow), their assets (/assets/NAME), the
// JSON behind them (/api/status, /api/flow), two Server-Sent Events streams (/api/events,
// /api/flow/events), /metrics and /healthz. A table maps each path to a handler; every path
// but /healthz asks for the credentials --admin-auth names (app/admin_auth.h). Requests are
// read by ferry's own page server (frontend/pages.h): one per connection, answered and
// closed, except a stream, which stays open and is written to from this loop's ticker.
#pragma once

#include "auth/authenticator.h"
#include "config/settings.h"
#include "http/head.h"
#include "http/local_reply.h"
#include "net/deadline.h"
#include "observe/flow_ring.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::app {

// What the pages show; the server answers, on the admin loop.
class admin_source {
public:
    virtual ~admin_source() = default;
    virtual std::string metrics_page() = 0;
    // /api/status (with the series), or a tick: without it, with the second `sample`.
    virtual std::string status_json(bool with_series, std::optional<std::int64_t> sample) = 0;
    virtual std::string status_tables_html() = 0;
    virtual observe::flow_ring& flow() = 0;
    virtual std::shared_ptr<const config::settings> running() = 0;
    virtual const std::string& admin_token() = 0; // "" unless --admin-auth token
    virtual auth::service* users() = 0;           // the htpasswd users; null: none
    // SIGTERM/SIGINT has begun the drain: /healthz answers 503 so that balancers stop
    // sending new clients while the exchanges in flight finish.
    virtual bool draining() = 0;
};

// One request, as a handler sees it.
struct admin_request {
    const http::request_head& head;
    std::string_view path;  // the target without its query
    std::string_view query; // after '?', "" when none
    admin_source& source;
};

// What a handler answers: a reply, or a stream to open.
struct admin_answer {
    http::local_reply reply;
    enum class stream { none, ticks, flow } opens = stream::none;
    std::optional<std::uint64_t> flow_after; // flow: replay the ring after this sequence number
};

using admin_handler = std::function<boost::asio::awaitable<admin_answer>(const admin_request&)>;

class admin_routes {
public:
    // `path` exactly, or every path under it when it ends in '/' ("/assets/").
    void add(std::string path, admin_handler handler);
    const admin_handler* find(std::string_view path) const;

private:
    std::vector<std::pair<std::string, admin_handler>> routes_;
};

// The value of `name` in a query string ("after=5&x=1"), or none.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name);

class admin_server {
public:
    static constexpr std::size_t max_watchers = 64; // open streams; beyond: 503

    admin_server(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor,
                 admin_source& source);
    ~admin_server();
    void start();
    // Stops accepting and ends the streams.
    void stop();
    std::uint16_t port() const { return port_; }
    std::size_t watchers() const;
    admin_routes& routes();
    // What a request for `target` (path and query) made elsewhere gets (a proxy port's request
    // for ferry itself, with --status-on-proxy-port): the same credentials and handlers, but
    // no stream. On this loop.
    boost::asio::awaitable<http::local_reply> answer_elsewhere(const http::request_head& head,
                                                               std::string_view target);

    struct state; // shared with the connections' coroutines, which may outlive this object

private:
    void tick();

    std::shared_ptr<state> state_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    boost::asio::steady_timer ticker_;
};

// The standard routes: the pages, the API, the streams, /metrics and /healthz.
void add_standard_routes(admin_routes& routes);

} // namespace ferry::app

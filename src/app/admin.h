// The admin listener (--admin-listen): GET /metrics (Prometheus text format) and
// GET /healthz, on the main thread's loop so that a busy worker never delays a scrape.
// Served by ferry's own page server (frontend/pages.h): one request per connection,
// answered and closed; anything else gets 404/405/400.
#pragma once

#include "app/admin_explain.h"
#include "http/local_reply.h"
#include "net/deadline.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>

namespace ferry::app {

class admin_server {
public:
    using page = std::function<std::string()>;

    // `explain`: /explain and the PAC file (null: not served).
    admin_server(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor, page metrics,
                 explain_pages* explain = nullptr);
    void start();
    void stop();
    std::uint16_t port() const { return port_; }

private:
    void tick();

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    page metrics_;
    explain_pages* explain_ = nullptr;
    std::uint16_t port_ = 0;
    // The deadlines of the page connections, on this loop's own coarse clock.
    net::steady_time now_;
    net::deadline_list deadlines_;
    boost::asio::steady_timer ticker_;
    bool stopped_ = false;
};

// What the admin listener answers to one request head (pure).
http::local_reply admin_route(std::string_view request_head, const admin_server::page& metrics);

} // namespace ferry::app

// The admin listener (--admin-listen): GET /metrics (Prometheus text format) and
// GET /healthz, on the main thread's loop so that a busy worker never delays a scrape.
// One request per connection, answered and closed; anything else gets 404/405/400.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

namespace ferry::app {

class admin_server {
public:
    using page = std::function<std::string()>;

    admin_server(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor,
                 page metrics);
    void start();
    void stop();
    std::uint16_t port() const { return port_; }

private:
    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    page metrics_;
    std::uint16_t port_ = 0;
};

// What the admin listener answers to one request head (pure): status, content type, body.
struct admin_answer {
    int status = 200;
    std::string content_type;
    std::string body;
};
admin_answer admin_route(std::string_view request_head, const admin_server::page& metrics);

} // namespace ferry::app

// One client connection, start to end: read a request head, decide, answer it locally or
// forward it, and loop while both sides keep the connection alive. One coroutine; its
// state lives here, in the coroutine frame of serve_client.
#pragma once

#include "auth/authenticator.h"
#include "config/settings.h"
#include "http/chunked.h"
#include "http/framing.h"
#include "http/head.h"
#include "http/head_scanner.h"
#include "http/local_reply.h"
#include "http/target.h"
#include "net/byte_buffer.h"
#include "net/deadline.h"
#include "net/io.h"
#include "net/stream.h"
#include "observe/exchange_record.h"
#include "policy/acl.h"
#include "proxy/decision.h"
#include "proxy/error.h"
#include "tunnel/pipe.h"
#include "upstream/connection.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <string>

namespace ferry::app {
class worker;
}

namespace ferry::proxy {

// A new client connection, admitted under the connection limits (app/admission.h).
boost::asio::awaitable<void> serve_client(app::worker& worker, boost::asio::ip::tcp::socket socket,
                                          boost::asio::ip::tcp::endpoint peer);
// A parked client (app/parking.h) that sent something: a new session carries on with it.
boost::asio::awaitable<void> resume_client(app::worker& worker, boost::asio::ip::tcp::socket socket,
                                           boost::asio::ip::tcp::endpoint peer, std::uint64_t id);

// "192.0.2.1:4711", "[2001:db8::1]:4711": how logs name a client.
std::string peer_label(const boost::asio::ip::tcp::endpoint& peer);

class session final : public net::drainable {
public:
    // `resumed`: the connection was parked after earlier exchanges, and is counted already.
    session(app::worker& worker, std::unique_ptr<net::stream> client,
            const boost::asio::ip::tcp::endpoint& peer, std::uint64_t id, bool resumed);
    ~session() override;

    boost::asio::awaitable<void> run();

    void drain() override;
    void force_close() override;

private:
    // Outcome of one exchange on the client connection.
    enum class next { keep_alive, close };

    // How the forwarded exchange went, filled in by its two directions.
    struct exchange_state {
        bool has_body = false;
        bool body_sent = false;        // the whole request body reached the origin
        bool body_running = false;     // the request body is still being relayed
        bool client_failed = false;    // the client vanished or stalled mid-request
        bool response_started = false; // bytes of the final response reached the client
        bool response_complete = false;
        bool upstream_reusable = false;
        bool close_client = false;
        bool retryable = false;  // failed before any response byte on a reused connection
        bool abandoned = false;  // the response ended first: the request body is dropped
        bool upgrade = false;    // the request's Upgrade offer went to the origin
        bool switched = false;   // the origin's 101 reached the client: tunnel from here on
        bool via_parent = false; // sent to the parent proxy
        error problem;
    };

    boost::asio::awaitable<next> serve_one();
    // The request head parsed (errors as a reject decision) and what to do with it.
    decision parse_and_decide();
    bool wants_credentials_check() const;
    boost::asio::awaitable<next> serve_decided(const decision& d);
    // The request's Proxy-Authorization checked against --htpasswd (slow hashes off the
    // loop); records the user on success. For a rule that needs a user, refuse_credentials
    // answers 407 with the challenge and logs a failed attempt on stderr.
    boost::asio::awaitable<auth::result> check_credentials();
    boost::asio::awaitable<next> refuse_credentials(const auth::result& verdict, bool has_body);
    boost::asio::awaitable<next> reply(const http::local_reply& answer);
    boost::asio::awaitable<next> reply_error(const error& e, bool force_close);
    http::local_reply status_page() const;
    http::local_reply trace_reply() const;

    // tunnel.cpp
    boost::asio::awaitable<next> tunnel(const http::target& dest);
    boost::asio::awaitable<error> connect_through_parent(const http::target& dest);
    boost::asio::awaitable<next> relay_tunnel();
    boost::asio::awaitable<void> tunnel_direction(bool toward_origin, tunnel::pipe_state& state,
                                                  std::uint64_t& bytes, net::error_code& result);

    // forward.cpp
    boost::asio::awaitable<next> forward(const http::target& dest,
                                         const http::body_framing& framing);
    // Where the connection for a request goes: its origin, or the parent proxy.
    struct route {
        bool parent = false;
        std::string host; // to connect to (lower-case)
        std::uint16_t port = 0;
        std::string key;   // pool key
        std::string label; // for logs: "host:port", "[v6]:port" (+ " (parent proxy)")
    };
    route route_for(const http::target& dest) const;
    enum class upstream_choice {
        any,        // this client's pinned connection, a pooled one, or a new one
        not_pooled, // a request ferry could not retry: pinned or new, never an idle pooled one
        fresh,      // a retry or a tunnel: always a new connection
    };
    boost::asio::awaitable<error> open_upstream(const route& where, upstream_choice choice,
                                                bool& reused);
    // Puts the upstream connection now in use (up_) into the exchange record.
    void note_upstream(const route& where);
    // Returns the connection to the pool when `reusable`, else closes it.
    void release_upstream(bool reusable);
    boost::asio::awaitable<void> send_request(const http::body_framing& framing,
                                              exchange_state& st);
    boost::asio::awaitable<bool> read_final_response(exchange_state& st);
    boost::asio::awaitable<void> relay_response(exchange_state& st);
    boost::asio::awaitable<void> switch_protocols(exchange_state& st);
    void drop_upstream();

    bool client_wants_close() const;
    // The access rules' verdict on this request, for the authenticated `user` (or none).
    void note_auth_failure(const auth::result& verdict);
    policy::acl_verdict access_verdict(const http::target& dest, const std::string* user) const;
    // The same, for a lower-case host, with the address it resolved to once known.
    policy::acl_verdict access_verdict_at(std::string_view host, std::uint16_t port,
                                          const std::string* user,
                                          const boost::asio::ip::address* address) const;
    bool origin_keeps_alive() const;
    bool connection_bound_auth() const;
    boost::asio::awaitable<void> close_gracefully();
    // Hands the idle client connection to the worker (app/parking.h) until `until`; false
    // when it stays here.
    bool park(net::steady_time until);
    void log_exchange();

    net::inbound client_in();
    net::outbound client_out();
    net::inbound upstream_in();
    net::outbound upstream_out();

    // The settings this connection's current exchange runs under (reload-safe snapshot).
    const config::settings& settings() const { return *settings_; }

    app::worker& worker_;
    std::shared_ptr<const config::settings> settings_;
    std::unique_ptr<net::stream> client_;
    boost::asio::ip::tcp::endpoint peer_;
    std::string client_label_;
    boost::asio::ip::address client_address_;
    std::uint64_t id_;
    bool resumed_;
    bool parked_ = false; // the client connection went to the parking lot, still open

    net::byte_buffer in_{16 * 1024};
    http::head_scanner request_scanner_;
    http::head_scanner response_scanner_;
    std::string request_store_; // the current request head's bytes; req_ points into it
    http::request_head req_;
    std::string response_store_; // the current response head's bytes; resp_ points into it
    http::response_head resp_;
    std::string out_;         // serialised head on its way to the client
    std::string request_out_; // serialised request head on its way upstream
    http::chunked_decoder request_decoder_;
    http::chunked_decoder response_decoder_;

    std::unique_ptr<upstream::connection> up_;

    observe::exchange_record rec_;
    bool idle_ = false;     // waiting for a request with nothing buffered
    bool draining_ = false; // finish the exchange in flight, then close
};

} // namespace ferry::proxy

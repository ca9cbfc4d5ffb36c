// One request and its response (or tunnel), whatever front end received it, run as named
// phases, each in its own file:
//
//   parse → decide          exchange.cpp   (the pure rules: proxy/decision)
//   admit                   admit.cpp      (proxy credentials, access rules)
//   route → connect         connect.cpp    (upstream/route: origin or parent; pool or new)
//   forward | tunnel | local reply
//                           forward.cpp, tunnel.cpp, exchange.cpp
//   fail                    exchange.cpp   (every failure mapped to a status in one place)
//   log                     exchange.cpp   (the record handed to the context)
//
// The exchange reads nothing but its parameters: the context (the worker, or a test), the
// client side (a stream and what was received after the head), the storage reused across
// one connection's exchanges, and the settings snapshot it started under.
#pragma once

#include "core/error.h"
#include "http/chunked.h"
#include "http/framing.h"
#include "http/head.h"
#include "http/head_scanner.h"
#include "http/local_reply.h"
#include "http/relay.h"
#include "http/response_plan.h"
#include "http/target.h"
#include "net/byte_buffer.h"
#include "net/io.h"
#include "net/stream.h"
#include "observe/exchange_record.h"
#include "policy/acl.h"
#include "policy/destinations.h"
#include "proxy/client_protocol.h"
#include "proxy/context.h"
#include "proxy/decision.h"
#include "proxy/tunnel_peek.h"
#include "tunnel/pipe.h"
#include "upstream/connection.h"
#include "upstream/http1_client.h"
#include "upstream/route.h"

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <string>

namespace ferry::proxy {

using core::errc;
using core::error;

// What the client connection does after an exchange.
enum class next { keep_alive, close };

// The protocol a request came in. A SOCKS5 request (frontend/socks5) reaches the exchange
// as a synthesised `CONNECT host:port` head: judged as a CONNECT by the access rules, held
// to --socks-ports instead of --connect-ports, and logged with the method SOCKS5.
enum class front_kind { http, socks5 };

// The client side of an exchange, as its front end holds it.
struct client_side {
    net::stream& stream;
    net::byte_buffer& buffer; // bytes received after the request head (a body, the next request)
    std::size_t buffer_limit;
    std::string_view label; // "192.0.2.1:4711"
    boost::asio::ip::address address;
    std::uint64_t connection; // the connection's number in the logs
    // The upstream connection bound to this client across exchanges (NTLM and Negotiate
    // authenticate a connection); also the one in use during an exchange.
    std::unique_ptr<upstream::connection>& upstream;
    const bool& draining; // the front end was told to finish and close
    // How answers are written in the client's protocol (HTTP/1: frontend/http1_answers.h).
    const client_protocol& protocol;
    // The user the connection proved it is, before any request (a verified TLS client
    // certificate): the exchange's user, as a Basic-auth user is, with no credentials asked.
    const std::string* identity = nullptr;
    // The HTTP/2 stream this exchange is (0: an HTTP/1 connection's exchange), for the logs.
    std::uint32_t stream_id = 0;
    front_kind front = front_kind::http;
};

// Storage a connection lends to each of its exchanges in turn: capacity is kept, so a
// keep-alive connection's requests allocate nothing for heads, records or chunk decoders.
struct exchange_storage {
    exchange_storage(std::size_t max_header_size)
        // Empty lines before a status line are skipped too: some origins send a CRLF after
        // a 100 Continue. Between messages they cannot shift a boundary ferry relies on, as
        // a connection with bytes left after a response is never reused.
        : response_scanner(max_header_size, max_header_size, true) {}
    std::string request_store; // the current request head's bytes; request points into it
    http::request_head request;
    http::head_scanner response_scanner;
    std::string response_store; // the current response head's bytes; response points into it
    http::response_head response;
    std::string out;         // serialised head on its way to the client
    std::string request_out; // serialised request head on its way upstream
    http::chunked_decoder request_decoder;
    http::chunked_decoder response_decoder;
    observe::exchange_record record;
};

class exchange {
public:
    // Starts the record; `settings` is the snapshot this exchange runs under (its front end
    // holds it until the exchange ends).
    exchange(context& ctx, client_side client, exchange_storage& storage,
             const config::settings& settings);

    // A whole request head arrived: its bytes are storage.request_store, and `head_bytes`
    // of them came off the wire. Serves it, and says what the connection does next.
    boost::asio::awaitable<next> run(std::size_t head_bytes);
    // `n` bytes ferry wrote to the client before this exchange belong to it (a SOCKS5
    // handshake's method choice and RFC 1929 status): its record counts them, as it counts
    // the handshake's received bytes through `head_bytes`.
    void count_sent_before(std::uint64_t n) { sent_at_start_ -= std::min(sent_at_start_, n); }
    // No request head could be read: answer `e` if it has a status, and close.
    boost::asio::awaitable<next> refuse(const error& e, std::size_t bytes_received);
    // The client closed in the middle of a head: nothing to answer.
    void cut_short(std::size_t bytes_received, std::string cause);
    // The log phase: the record goes to the context (metrics, access and flow logs).
    void log();

private:
    // How the forwarded exchange went, filled in by its two directions.
    struct relay_state {
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

    // exchange.cpp: parse, decide, dispatch, local replies, fail, log
    decision parse_and_decide();
    boost::asio::awaitable<next> serve_decided(const decision& d);
    // `failure`: what failed, when the reply says so (the client's protocol may need it).
    boost::asio::awaitable<next> reply(const http::local_reply& answer,
                                       const error* failure = nullptr);
    boost::asio::awaitable<next> fail(const error& e, bool force_close);
    http::local_reply status_page() const;
    http::local_reply trace_reply() const;
    answer_context answers(bool must_close) const {
        return {settings_.pseudonym, ctx_.http_date(), must_close};
    }

    // admit.cpp: proxy credentials and the access rules
    bool wants_credentials_check() const;
    // The request's Proxy-Authorization checked against --htpasswd (slow hashes off the
    // loop); records the user on success.
    boost::asio::awaitable<auth::result> check_credentials();
    // 407 with the challenge.
    boost::asio::awaitable<next> refuse_credentials(const auth::result& verdict, bool has_body);
    void note_auth_failure(const auth::result& verdict);
    // The access rules' verdict on this request, for the authenticated `user` (or none).
    policy::acl_verdict access_verdict(const http::target& dest, const std::string* user) const;
    // The same, for a lower-case host, with the address it resolved to once known.
    policy::acl_verdict access_verdict_at(std::string_view host, std::uint16_t port,
                                          const std::string* user,
                                          const boost::asio::ip::address* address) const;

    // connect.cpp: an upstream connection for a route, and what becomes of it after
    enum class upstream_choice {
        any,        // this client's pinned connection, a pooled one, or a new one
        not_pooled, // a request ferry could not retry: pinned or new, never an idle pooled one
        fresh,      // a retry or a tunnel: always a new connection
    };
    boost::asio::awaitable<error> open_upstream(const upstream::route& where,
                                                upstream_choice choice, bool& reused);
    void note_upstream(const upstream::route& where);
    // The first refusal among a connection's addresses: counted once in the metrics when
    // no address is left (a request is one refusal, however many addresses its name has).
    struct egress_tally {
        bool refused = false;
        std::size_t rule = 0; // the access rule that refused it (category none)
        policy::destination_category category = policy::destination_category::none;
    };
    // The connector's request for a route: its timeouts, loop detection and egress check.
    upstream::connect_request connect_request_for(const upstream::route& where,
                                                  egress_tally& tally);
    // The egress check (set for every direct connection): why ferry must not connect to `a`
    // for this route ("" when it may) — the access rules with the address, and safe
    // destinations. `tally` (when given) keeps the first refusal.
    std::string egress_refusal(const upstream::route& where, const boost::asio::ip::address& a,
                               egress_tally* tally);
    void count_refusal(const egress_tally& tally);
    bool egress_checked(const upstream::route& where) const;
    // Through the parent the address of a name is never known here: an IP-literal host is
    // judged as it is, before anything is sent ("" when allowed).
    std::string parent_literal_refusal(const upstream::route& where);
    // Safe destinations apply to this exchange (policy/destinations).
    bool safe_destinations() const;
    // The protected category of `a` on `port`, ferry's admin listener included.
    policy::destination_category destination_category_of(const boost::asio::ip::address& a,
                                                         std::uint16_t port) const;
    // A pooled connection is reused only if its peer's address would still be allowed.
    bool pooled_still_allowed(const upstream::route& where, const upstream::connection& c);
    // Returns the connection to the pool when `reusable`, else closes it.
    void release_upstream(bool reusable);
    void drop_upstream();
    bool origin_keeps_alive() const;
    bool connection_bound_auth() const;

    // forward.cpp
    boost::asio::awaitable<next> forward(const http::target& dest,
                                         const http::body_framing& framing);
    boost::asio::awaitable<void> send_request(const http::body_framing& framing, relay_state& st);
    boost::asio::awaitable<bool> read_final_response(relay_state& st);
    // Why a 101 cannot be accepted (none when it can).
    error switch_problem(bool offered, std::string_view label) const;
    boost::asio::awaitable<void> relay_response(relay_state& st);
    // The response head for the client, in its protocol, into store_.out.
    http::response_plan start_response(const http::body_framing& in, const relay_state& st);
    // What the relayed body's outcome means for the exchange.
    void note_outcome(const http::relay_outcome& outcome, relay_state& st);
    error client_write_problem(const net::error_code& ec, std::string_view what) const;
    boost::asio::awaitable<void> switch_protocols(relay_state& st);

    // tunnel.cpp
    boost::asio::awaitable<next> tunnel(const http::target& dest);
    // Connects (through the parent's CONNECT when routed so) and answers the client: no value
    // once the tunnel is established, else how the exchange ended.
    boost::asio::awaitable<std::optional<next>> establish_tunnel(const http::target& dest);
    // The upstream socket's local address and port (a SOCKS5 reply's BND), or unspecified.
    boost::asio::ip::tcp::endpoint upstream_local_endpoint();
    // `connect`: the CONNECT request's authority, whose client's first bytes are read as a
    // TLS ClientHello (null for a switched Upgrade: its bytes are not looked at).
    boost::asio::awaitable<next> relay_tunnel(const http::authority* connect = nullptr);
    boost::asio::awaitable<void> tunnel_direction(bool toward_origin, tunnel::pipe_state& state,
                                                  tunnel::pipe_end& end,
                                                  const http::authority* connect);
    // The client's first bytes toward the origin, read as a ClientHello, held or forwarded as
    // they come (proxy/tunnel_peek.h), judged; false when the direction ended there.
    boost::asio::awaitable<bool> peek_first_bytes(const http::authority& connect,
                                                  tunnel::pipe_state& state, tunnel::pipe_end& end);
    // Records the refusal, counts it and stops both directions.
    void refuse_tunnel(const peek_refusal& refused, tunnel::pipe_state& state);
    // The record and the metrics for what the peek saw.
    void note_first_bytes(const tls::client_hello_reader& reader);
    // Whether the tunnel is refused on those bytes (--tunnel-sni, the access rules on the SNI).
    std::optional<peek_refusal> judge_peek(const tls::client_hello_reader& reader,
                                           const http::authority& connect) const;
    std::string tunnel_cause(const tunnel::pipe_end& up, const tunnel::pipe_end& down) const;

    net::inbound client_in() { return {client_.stream, client_.buffer, client_.buffer_limit}; }
    net::outbound client_out() { return {client_.stream}; }
    net::inbound upstream_in() { return upstream::body_source(up(), settings_.max_header_size); }
    net::outbound upstream_out() { return upstream::body_sink(up()); }
    upstream::head_storage response_storage() {
        return {store_.response_scanner, store_.response_store, resp_};
    }
    upstream::connection& up() { return *client_.upstream; }
    const config::settings& settings() const { return settings_; }
    bool draining() const { return client_.draining || ctx_.draining(); }

    // The bytes to the client are what its stream accepted from here to the log phase.
    std::uint64_t sent_at_start_;
    // What the client got, exactly, and why a cut exchange ended, for the record (log phase).
    void settle_record();

    context& ctx_;
    client_side client_;
    const config::settings& settings_;
    http::request_head& req_;
    http::response_head& resp_;
    observe::exchange_record& rec_;
    exchange_storage& store_;
};

} // namespace ferry::proxy

// What one exchange did, filled in by the session as it goes, read by the logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ferry::observe {

struct exchange_record {
    std::uint64_t connection = 0; // connection number, as in the flow log
    std::uint32_t stream = 0;     // the HTTP/2 stream id; 0 for an HTTP/1 exchange
    std::string client;           // "127.0.0.1:51234"
    std::chrono::system_clock::time_point started;
    std::chrono::steady_clock::time_point started_steady;

    std::string method; // "-" when the head could not be parsed; "SOCKS5" for a SOCKS request
    std::string target;
    std::string request_line;
    std::string user_agent;
    std::string referer;
    std::string user; // the authenticated proxy user, when there is one (issue 4's auth)

    std::string upstream;         // "host:port" when ferry connected or reused one
    std::string upstream_address; // its IP address ("93.184.216.34", "::1")
    bool upstream_parent = false; // the upstream is the parent proxy
    bool upstream_new = false;    // a fresh connection (else reused)
    std::string retried_after;    // a reused connection that failed before any answer, if any
    enum class fate { none, kept, closed };
    fate upstream_fate = fate::none; // after the exchange: back in the pool, or closed

    int status = 0; // sent to the client; 0 when nothing was sent
    std::string status_line;
    std::string content_type;
    std::uint64_t body_bytes = 0; // response body bytes relayed (or of ferry's own answer)
    std::uint64_t bytes_to_client = 0;
    std::uint64_t bytes_from_client = 0;
    std::string cause; // why it failed, empty on success

    // A CONNECT, or a SOCKS5 request (its tunnel is a CONNECT's): the target is host:port.
    bool connect_like() const { return method == "CONNECT" || method == "SOCKS5"; }

    // What the client of a CONNECT tunnel sent first (tls/client_hello; issue 16): unknown
    // for every other exchange, and for a tunnel whose client sent nothing.
    enum class tunnel_tls { unknown, tls, not_tls };
    tunnel_tls tunnel_bytes_kind = tunnel_tls::unknown;
    std::string tls_sni;          // lower-case host_name; "" when the hello named none
    bool tls_sni_invalid = false; // not a DNS name (tls_sni then has \xHH escapes)
    std::string tls_alpn;         // the offered protocols, comma-joined ("" without ALPN)
    bool tls_ech = false;         // encrypted_client_hello present
    std::string tls_unreadable;   // "malformed" or "too_large": a hello ferry could not read
    std::string tls_problem;      // and why
    bool tunnel_refused = false;  // closed on what it sent first (the cause says why)

    void reset() { *this = exchange_record{}; }
};

} // namespace ferry::observe

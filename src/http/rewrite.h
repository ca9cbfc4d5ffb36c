// What ferry sends on: pure serialisation of forwarded heads (RFC 9110 §7.6, RFC 9112 §3.2.2).
// Hop-by-hop fields are dropped both ways (Connection and every field it names, Keep-Alive,
// Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization, Proxy-Authenticate, and
// ferry's own X-Ferry-Loop, which goes to parent proxies only); framing
// fields (Content-Length, Transfer-Encoding) are written from ferry's own framing decision,
// never copied; every other field keeps its place and order. The one exception is an
// Upgrade offer ferry passes on (http/upgrade.h): then the Upgrade fields are kept and
// `Connection: upgrade` is sent, in the request and in the 101 that accepts it.
#pragma once

#include "http/head.h"
#include "http/target.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::http {

struct framing_fields {
    std::optional<std::uint64_t> content_length;
    bool chunked = false;
};

// True for fields never forwarded (the fixed hop-by-hop set and the framing fields).
bool is_hop_by_hop(std::string_view name);

// True for a response field ferry does not pass on: hop-by-hop, a framing field, or named
// by the response's Connection field. (For a protocol that writes heads its own way.)
bool response_field_dropped(const response_head& head, std::string_view name);

// What ferry says about the client and itself in a request it sends on (issue 18).
// X-Forwarded-For, as Squid's forwarded_for: `on` adds the client's IP, `off` adds
// "unknown", `truncate` sends the client's IP alone, `remove` sends none; `on` and `off`
// append to the incoming list for a trusted client and replace it for any other. `pass`
// (no option sets it) leaves the field as received.
enum class forwarded_for_mode { pass, on, off, truncate, remove };

struct request_options {
    request_options() = default;
    // ferry's name in Via, and nothing else added: the client's fields pass as received.
    request_options(std::string_view via_name) : via(via_name) {}

    std::string_view via = "ferry"; // ferry's name in Via; empty: no Via (via = false)
    forwarded_for_mode forwarded_for = forwarded_for_mode::pass;
    bool forwarded = false;  // RFC 7239 Forwarded: for=, by=, proto= added
    bool trusted = false;    // the client is in trusted_forwarders: its values are extended
    std::string_view client; // the client's IP: "192.0.2.1", "2001:db8::1"
    std::string_view by;     // the IP of the listener the client came in on; empty: unknown
    std::uint16_t by_port = 0;
    std::string_view proto = "http";
    // Toward a parent proxy only: this instance's loop token, appended to the incoming
    // X-Ferry-Loop list (empty: the list goes on as received). Never sent to an origin.
    std::string_view loop_token;
};

// True for X-Ferry-Loop, ferry's own hop-by-hop field: never forwarded to an origin.
bool is_loop_field(std::string_view name);

// Appends the request as sent upstream: origin-form target, Host from the target,
// Max-Forwards decremented for OPTIONS/TRACE, `Via: 1.x <options.via>`, then the forwarding
// fields `options` asks for (after Via, as Squid writes them). When forwards_upgrade() holds (no
// body: neither chunked nor a length above 0), the Upgrade fields stay in place and `Connection:
// upgrade` follows the framing fields.
void write_forward_request(const request_head& head, const target& dest,
                           const framing_fields& framing, const request_options& options,
                           std::string& out);

// The same request sent to a parent proxy: absolute-form target,
// `Proxy-Authorization: <authorization>` when not empty (the client's is never forwarded),
// and X-Ferry-Loop with options.loop_token appended.
void write_parent_request(const request_head& head, const target& dest,
                          const framing_fields& framing, const request_options& options,
                          std::string_view authorization, std::string& out);

// A CONNECT for `dest` (authority-form) sent to a parent proxy, for the client's `head`:
// X-Ferry-Loop as for a request, nothing else of the client's.
void write_parent_connect(const request_head& head, const target& dest,
                          std::string_view authorization, const request_options& options,
                          std::string& out);

struct response_options {
    framing_fields framing;
    bool close = false;         // "Connection: close", ferry closes after this response
    bool keep_alive_10 = false; // HTTP/1.0 client kept alive: "Connection: keep-alive"
    std::string_view pseudonym; // ferry's name in Via; empty: no Via (via = false)
    std::string_view date;      // IMF-fixdate, added when the origin sent no Date
};

// Appends the response as sent to the client, always as HTTP/1.1 (RFC 9110 §2.5).
void write_forward_response(const response_head& head, const response_options& options,
                            std::string& out);

// Appends a 1xx interim response for an HTTP/1.1 client (`pseudonym` empty: no Via).
void write_interim_response(const response_head& head, std::string_view pseudonym,
                            std::string& out);

// Appends a 101 Switching Protocols that accepts a forwarded Upgrade offer: end-to-end
// fields and the Upgrade fields in place, then `Connection: upgrade` and Via. No Date and no
// framing fields: what follows the head is the new protocol.
void write_switch_response(const response_head& head, std::string_view pseudonym, std::string& out);

} // namespace ferry::http

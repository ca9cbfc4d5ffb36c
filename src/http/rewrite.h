// What ferry sends on: pure serialisation of forwarded heads (RFC 9110 §7.6, RFC 9112 §3.2.2).
// Hop-by-hop fields are dropped both ways (Connection and every field it names, Keep-Alive,
// Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization, Proxy-Authenticate); framing
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

// Appends the request as sent upstream: origin-form target, Host from the target,
// Max-Forwards decremented for OPTIONS/TRACE, `Via: 1.x <pseudonym>` appended. When
// forwards_upgrade() holds (no body: neither chunked nor a length above 0), the Upgrade
// fields stay in place and `Connection: upgrade` follows the framing fields.
void write_forward_request(const request_head& head, const target& dest,
                           const framing_fields& framing, std::string_view pseudonym,
                           std::string& out);

// The same request sent to a parent proxy: absolute-form target, and
// `Proxy-Authorization: <authorization>` when not empty (the client's is never forwarded).
void write_parent_request(const request_head& head, const target& dest,
                          const framing_fields& framing, std::string_view pseudonym,
                          std::string_view authorization, std::string& out);

// A CONNECT for `dest` (authority-form) sent to a parent proxy.
void write_parent_connect(const target& dest, std::string_view authorization, std::string& out);

struct response_options {
    framing_fields framing;
    bool close = false;         // "Connection: close", ferry closes after this response
    bool keep_alive_10 = false; // HTTP/1.0 client kept alive: "Connection: keep-alive"
    std::string_view pseudonym;
    std::string_view date; // IMF-fixdate, added when the origin sent no Date
};

// Appends the response as sent to the client, always as HTTP/1.1 (RFC 9110 §2.5).
void write_forward_response(const response_head& head, const response_options& options,
                            std::string& out);

// Appends a 1xx interim response for an HTTP/1.1 client.
void write_interim_response(const response_head& head, std::string_view pseudonym,
                            std::string& out);

// Appends a 101 Switching Protocols that accepts a forwarded Upgrade offer: end-to-end
// fields and the Upgrade fields in place, then `Connection: upgrade` and Via. No Date and no
// framing fields: what follows the head is the new protocol.
void write_switch_response(const response_head& head, std::string_view pseudonym, std::string& out);

} // namespace ferry::http

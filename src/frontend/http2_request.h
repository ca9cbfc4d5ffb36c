// An HTTP/2 request's header block, as ferry collects it from nghttp2, and the HTTP/1.1 head
// it becomes for the exchange, which parses and decides on it as on any request (RFC 9113
// §8.3 and §8.2.3, RFC 9110 §7.6, RFC 8441 §4). nghttp2 has already refused what §8.1.1 and
// §8.2 call malformed (upper-case names, connection-specific fields, bad pseudo-headers, a
// content-length that disagrees with the DATA); what is left to decide is here. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::frontend {

struct h2_request {
    std::string method, scheme, authority, path, protocol;   // the pseudo-header fields
    std::vector<std::pair<std::string, std::string>> fields; // the others, in order
    // RFC 9113 §4.3's size: each field's name and value and 32 bytes, as decoded.
    std::size_t decoded_size = 0;
    bool too_large = false; // over http2_max_header_list_size: fields no longer kept

    // One field from nghttp2: pseudo-headers to their members, the rest kept in order.
    void add(std::string_view name, std::string_view value, std::size_t limit);
    // Empty again, for the next stream (the vector's capacity stays).
    void clear();
};

struct h2_head {
    std::string problem; // why the request cannot be served (answered 400), or empty
    // The body, of unknown length, reaches the exchange in HTTP/1.1 chunked coding (the
    // head says so); false with a content-length, without a body, and for tunnels.
    bool chunked_body = false;
    bool websocket = false; // RFC 8441: sent to the origin as an HTTP/1.1 Upgrade
};

// Appends the HTTP/1.1 head for `r` to `out`. `end_stream`: the HEADERS frame ended the
// stream, so there is no body. `websocket_key`: a fresh Sec-WebSocket-Key (base64 of 16
// random bytes), used for an extended CONNECT.
h2_head to_http1_head(const h2_request& r, bool end_stream, std::string_view websocket_key,
                      std::string& out);

} // namespace ferry::frontend

// HAProxy's PROXY protocol header (doc/proxy-protocol.txt), versions 1 (text) and 2 (binary),
// as a load balancer sends it before a client's first byte. Pure: given the bytes received so
// far (peeked, not consumed), says whether more are needed, where the header ends and what it
// carries, or why it is refused. Never looks past the header's own length.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace ferry::net {

// The longest v1 line, CRLF included ("PROXY UNKNOWN" with two IPv6 addresses and ports).
inline constexpr std::size_t proxy_v1_max = 107;
// The fixed part of a v2 header, and the most address and TLV bytes ferry accepts after it
// (HAProxy's own senders stay far below: addresses, ALPN, authority, a unique id, TLS names).
inline constexpr std::size_t proxy_v2_fixed = 16;
inline constexpr std::size_t proxy_v2_max_payload = 4096;
// The most bytes a header may need before the parser decides.
inline constexpr std::size_t proxy_header_max = proxy_v2_fixed + proxy_v2_max_payload;

struct proxy_header {
    int version = 0;      // 1 or 2
    std::size_t size = 0; // bytes of the header: consume exactly these
    // The connection's own endpoints stand (v2 LOCAL, v1 UNKNOWN, v2 UNSPEC / AF_UNIX / a
    // datagram protocol): a health check, or an address ferry cannot use.
    bool local = false;
    // When not local: the client as the balancer saw it, and the address it connected to.
    boost::asio::ip::tcp::endpoint source, destination;
};

enum class proxy_parse_status {
    need_more, // every byte so far fits a header: read more (within the deadline)
    done,      // `header` is set
    malformed, // not a PROXY header, or one that breaks the specification (`why`)
    too_large, // a v1 line without CRLF in 107 bytes, or a v2 header over the bound
};

struct proxy_parse {
    proxy_parse_status status = proxy_parse_status::need_more;
    proxy_header header;
    std::string_view why; // for malformed and too_large: a static text
};

// Parses the start of a connection. `bytes` is everything received so far.
proxy_parse parse_proxy_header(std::span<const unsigned char> bytes);

} // namespace ferry::net

#include "net/proxy_header.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace ferry::net {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using bytes_view = std::span<const unsigned char>;

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::array<unsigned char, 12> v2_signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                     0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

proxy_parse need_more() {
    return {};
}
proxy_parse malformed(std::string_view why) {
    return {proxy_parse_status::malformed, {}, why};
}
proxy_parse too_large(std::string_view why) {
    return {proxy_parse_status::too_large, {}, why};
}
proxy_parse done(proxy_header h) {
    return {proxy_parse_status::done, h, {}};
}

// True when the first min(n, expected) bytes are those of `expected`.
bool starts_like(bytes_view bytes, bytes_view expected) {
    const auto n = std::min(bytes.size(), expected.size());
    return std::equal(bytes.begin(), bytes.begin() + n, expected.begin());
}

bytes_view as_bytes(std::string_view s) {
    return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

// ---- version 1 ----

// A decimal number without leading zeroes ("0" itself is fine), at most `max`.
bool decimal(std::string_view s, unsigned max, unsigned& out) {
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s.front() == '0')) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + unsigned(c - '0');
    }
    return out <= max;
}

// Four decimal octets, one dot between each, no leading zeroes.
bool ipv4_text(std::string_view s, asio::ip::address& out) {
    asio::ip::address_v4::bytes_type b{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) return false;
        unsigned octet = 0;
        if (!decimal(s.substr(0, dot), 255, octet)) return false;
        b[i] = static_cast<unsigned char>(octet);
        s.remove_prefix(std::min(s.size(), dot + 1));
        if (i < 3 && s.empty()) return false;
    }
    out = asio::ip::address_v4(b);
    return true;
}

// Groups of hex digits and colons (one "::" at most, checked by inet_pton): no zone index,
// no dotted quad inside.
bool ipv6_text(std::string_view s, asio::ip::address& out) {
    if (s.empty() || s.size() > 39) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
    char text[40];
    std::memcpy(text, s.data(), s.size());
    text[s.size()] = '\0';
    asio::ip::address_v6::bytes_type b{};
    if (::inet_pton(AF_INET6, text, b.data()) != 1) return false;
    out = asio::ip::address_v6(b);
    return true;
}

// What may follow "PROXY ": a prefix of one of these (the line is refused as soon as it
// cannot become one).
bool protocol_may_follow(std::string_view rest) {
    for (std::string_view p : {"TCP4 ", "TCP6 ", "UNKNOWN"})
        if (p.starts_with(rest.substr(0, std::min(rest.size(), p.size())))) return true;
    return false;
}

// The line between "PROXY " and CRLF.
proxy_parse parse_v1_line(std::string_view line, std::size_t size) {
    proxy_header h;
    h.version = 1;
    h.size = size;
    // "UNKNOWN", alone or followed by anything: the connection's own endpoints stand.
    if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
        h.local = true;
        return done(h);
    }
    const bool v6 = line.starts_with("TCP6 ");
    if (!v6 && !line.starts_with("TCP4 ")) return malformed("unknown v1 protocol");
    line.remove_prefix(5);
    std::array<std::string_view, 4> field;
    for (std::size_t i = 0; i < field.size(); ++i) {
        const auto space = i < 3 ? line.find(' ') : line.size();
        if (space == std::string_view::npos) return malformed("too few fields in a v1 line");
        field[i] = line.substr(0, space);
        if (field[i].empty()) return malformed("an empty field in a v1 line");
        line.remove_prefix(std::min(line.size(), space + 1));
    }
    if (field[3].find(' ') != std::string_view::npos)
        return malformed("too many fields in a v1 line");
    asio::ip::address source, destination;
    const auto address = v6 ? ipv6_text : ipv4_text;
    if (!address(field[0], source) || !address(field[1], destination))
        return malformed("a bad address in a v1 line");
    unsigned source_port = 0, destination_port = 0;
    if (!decimal(field[2], 65535, source_port) || !decimal(field[3], 65535, destination_port))
        return malformed("a bad port in a v1 line");
    h.source = tcp::endpoint(source, static_cast<std::uint16_t>(source_port));
    h.destination = tcp::endpoint(destination, static_cast<std::uint16_t>(destination_port));
    return done(h);
}

proxy_parse parse_v1(bytes_view bytes) {
    if (bytes.size() < v1_prefix.size()) return need_more();
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()),
                                std::min(bytes.size(), proxy_v1_max));
    if (!protocol_may_follow(text.substr(v1_prefix.size())))
        return malformed("unknown v1 protocol");
    // Only CRLF ends the line: a CR or LF alone is refused, not read as an end.
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n') return malformed("a v1 line ending in LF without CR");
        if (text[i] != '\r') continue;
        if (i + 1 == text.size()) break; // the LF may come next
        if (text[i + 1] != '\n') return malformed("a CR without LF in a v1 line");
        return parse_v1_line(text.substr(v1_prefix.size(), i - v1_prefix.size()), i + 2);
    }
    if (bytes.size() >= proxy_v1_max) return too_large("no CRLF in the first 107 bytes");
    return need_more();
}

// ---- version 2 ----

std::uint16_t big_endian16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// The TLVs after the addresses: each must fit in the header. Their values are not read.
bool tlvs_fit(bytes_view tlvs) {
    while (!tlvs.empty()) {
        if (tlvs.size() < 3) return false;
        const std::size_t length = big_endian16(tlvs.data() + 1);
        if (tlvs.size() - 3 < length) return false;
        tlvs = tlvs.subspan(3 + length);
    }
    return true;
}

proxy_parse parse_v2(bytes_view bytes) {
    if (bytes.size() < proxy_v2_fixed) return need_more();
    const unsigned version = bytes[12] >> 4, command = bytes[12] & 0x0f;
    const unsigned family = bytes[13] >> 4, protocol = bytes[13] & 0x0f;
    const std::size_t length = big_endian16(bytes.data() + 14);
    if (version != 2) return malformed("a v2 signature with another version");
    if (command > 1) return malformed("an unknown v2 command");
    if (length > proxy_v2_max_payload) return too_large("a v2 header over 4 KiB");
    if (bytes.size() < proxy_v2_fixed + length) return need_more();
    proxy_header h;
    h.version = 2;
    h.size = proxy_v2_fixed + length;
    h.local = true;
    // LOCAL: a connection the balancer made itself (a health check); the block is skipped.
    if (command == 0) return done(h);
    if (family > 3 || protocol > 2) return malformed("an unknown v2 family or protocol");
    static constexpr std::array<std::size_t, 4> address_length{0, 12, 36, 216};
    const auto block = bytes.subspan(proxy_v2_fixed, length);
    if (block.size() < address_length[family])
        return malformed("a v2 address block shorter than its family's");
    // Without a family there is no telling where TLVs would start: the block is skipped.
    if (family != 0 && !tlvs_fit(block.subspan(address_length[family])))
        return malformed("a v2 TLV running past the header");
    // AF_UNSPEC, AF_UNIX and datagrams: nothing ferry can use; the connection's own stand.
    if (family == 0 || family == 3 || protocol != 1) return done(h);
    h.local = false;
    const std::size_t a = family == 1 ? 4 : 16; // one address's bytes
    auto address_at = [&](std::size_t offset) -> asio::ip::address {
        if (a == 4) {
            asio::ip::address_v4::bytes_type b{};
            std::copy_n(block.data() + offset, 4, b.begin());
            return asio::ip::address_v4(b);
        }
        asio::ip::address_v6::bytes_type b{};
        std::copy_n(block.data() + offset, 16, b.begin());
        return asio::ip::address_v6(b);
    };
    h.source = tcp::endpoint(address_at(0), big_endian16(block.data() + 2 * a));
    h.destination = tcp::endpoint(address_at(a), big_endian16(block.data() + 2 * a + 2));
    return done(h);
}

} // namespace

proxy_parse parse_proxy_header(bytes_view bytes) {
    if (bytes.empty()) return need_more();
    if (starts_like(bytes, as_bytes(v1_prefix))) return parse_v1(bytes);
    if (starts_like(bytes, v2_signature)) return parse_v2(bytes);
    return malformed("not a PROXY protocol header");
}

} // namespace ferry::net

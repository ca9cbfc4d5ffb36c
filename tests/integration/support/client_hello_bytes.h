// TLS ClientHello bytes written by hand (RFC 8446 §4.1.2), for the ClientHello reader's unit
// tests and the tunnel tests' raw clients: a hello with chosen SNI, ALPN, ECH and padding,
// cut into records of a chosen size. Header-only: the unit tests include it too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::test {

inline std::string u8(std::size_t n) {
    return std::string(1, char(n & 0xff));
}
inline std::string u16(std::size_t n) {
    return u8(n >> 8) + u8(n);
}
inline std::string u24(std::size_t n) {
    return u8(n >> 16) + u16(n & 0xffff);
}

inline std::string extension(std::uint16_t type, std::string_view body) {
    return u16(type) + u16(body.size()) + std::string(body);
}

inline std::string sni_extension(std::string_view name) {
    const std::string entry = u8(0) + u16(name.size()) + std::string(name);
    return extension(0, u16(entry.size()) + entry);
}

inline std::string alpn_extension(const std::vector<std::string>& protocols) {
    std::string list;
    for (const auto& p : protocols)
        list += u8(p.size()) + p;
    return extension(16, u16(list.size()) + list);
}

inline std::string supported_versions_extension() {
    return extension(43, u8(4) + "\x03\x04\x03\x03");
}

// encrypted_client_hello (draft-ietf-tls-esni): an outer hello's payload, opaque here.
inline std::string ech_extension() {
    return extension(0xfe0d, std::string("\x00\x00\x01\x00\x01\x2a\x00\x00\x00\x10", 10) +
                                 std::string(16, '\x55'));
}

// RFC 7685 padding: `n` zero bytes.
inline std::string padding_extension(std::size_t n) {
    return extension(21, std::string(n, '\0'));
}

struct hello_spec {
    std::string sni = "example.test";                // "" for none
    std::vector<std::string> alpn{"h2", "http/1.1"}; // empty: no ALPN extension
    bool ech = false;
    std::size_t padding = 0; // bytes of a padding extension (0: none)
    bool extensions = true;  // false: a TLS 1.2-style hello without any
    std::string extra;       // more extensions, as they are
};

// The ClientHello handshake message (type, length, body).
inline std::string client_hello_message(const hello_spec& s) {
    std::string body = "\x03\x03";
    body += std::string(32, '\x11');                             // random
    body += u8(32) + std::string(32, '\x22');                    // legacy_session_id
    body += u16(6) + std::string("\x13\x01\x13\x02\xc0\x2f", 6); // cipher_suites
    body += u8(1) + std::string(1, '\0');                        // legacy_compression_methods
    if (s.extensions) {
        std::string ext;
        if (!s.sni.empty()) ext += sni_extension(s.sni);
        if (!s.alpn.empty()) ext += alpn_extension(s.alpn);
        ext += supported_versions_extension();
        if (s.ech) ext += ech_extension();
        ext += s.extra;
        if (s.padding > 0) ext += padding_extension(s.padding);
        body += u16(ext.size()) + ext;
    }
    return u8(1) + u24(body.size()) + body;
}

// `message` in handshake records of at most `record_size` bytes each.
inline std::string tls_records(std::string_view message, std::size_t record_size = 16384) {
    std::string out;
    for (std::size_t at = 0; at < message.size(); at += record_size) {
        const auto part = message.substr(at, record_size);
        out += std::string("\x16\x03\x01", 3) + u16(part.size()) + std::string(part);
    }
    return out;
}

inline std::string client_hello_bytes(const hello_spec& s, std::size_t record_size = 16384) {
    return tls_records(client_hello_message(s), record_size);
}

} // namespace ferry::test

// The first bytes a client sends through a CONNECT tunnel, read as a TLS ClientHello
// (RFC 8446 §4.1.2, §5.1; RFC 6066 §3 server_name; RFC 7301 ALPN; the ECH draft's
// encrypted_client_hello, 0xfe0d) without decrypting or altering anything. Pure and
// incremental: bytes are fed as they arrive, one at a time or a hello split over several
// records and reads, and the verdict is the same however they are split. No OpenSSL: a
// structure walk with bounds checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::tls {

// What the client's first bytes were.
enum class hello_verdict {
    need_more, // a ClientHello so far: feed more
    hello,     // a whole ClientHello, read
    not_tls,   // not a TLS handshake record, or a handshake that is not a ClientHello
    malformed, // a TLS handshake record whose ClientHello breaks its own structure
    too_large, // a ClientHello larger than the reader's cap
};

std::string_view verdict_name(hello_verdict v); // "need_more", "hello", "not_tls", ...

struct client_hello {
    // The host_name of server_name, lower-cased; empty when the hello names none. When it is
    // not a DNS name (sni_valid false) it is kept with every byte outside [a-z0-9._-] as
    // \xHH, so that it is safe in any log line.
    std::string sni;
    bool sni_valid = true;
    std::vector<std::string> alpn;    // the offered protocols, in order (each log-safe as sni)
    bool alpn_present = false;        // the hello has the ALPN extension
    bool ech = false;                 // encrypted_client_hello (0xfe0d) present
    std::uint16_t legacy_version = 0; // 0x0303 for TLS 1.2 and 1.3
    std::vector<std::uint16_t> supported_versions; // from supported_versions (43), if any
    std::size_t size = 0;                          // the handshake message's bytes
};

// The largest ClientHello read (handshake message, header included). Post-quantum key
// shares make hellos of about 2 KiB; clients pad to 512 bytes; Go's crypto/tls stops at
// 64 KiB as well. A declared length above it is too_large at once.
inline constexpr std::size_t default_max_hello = 64 * 1024;

// True for a host name as RFC 6066 allows it in server_name: letters, digits, '-' and '_'
// (seen in the wild) in dot-separated labels of 1..63 bytes, 253 bytes at most, no
// trailing dot, not an IPv4 literal. Case-insensitive.
bool is_dns_name(std::string_view name);

class client_hello_reader {
public:
    explicit client_hello_reader(std::size_t max_hello = default_max_hello);

    // Takes the next bytes of the client's stream and returns the verdict so far. Once the
    // verdict is not need_more, further bytes are ignored (not taken).
    hello_verdict feed(std::string_view bytes);
    // The client ended its stream: a hello cut short is malformed; nothing fed stays need_more.
    hello_verdict finish();

    hello_verdict verdict() const { return verdict_; }
    const client_hello& hello() const { return hello_; }
    // Why the bytes are not_tls, malformed or too_large ("" otherwise).
    const std::string& problem() const { return problem_; }
    // Bytes taken up to the verdict (record headers included).
    std::size_t taken() const { return taken_; }

private:
    hello_verdict fail(hello_verdict v, std::string why);
    hello_verdict take_record_header();
    hello_verdict take_handshake_header();
    hello_verdict parse_message();

    std::size_t max_hello_;
    hello_verdict verdict_ = hello_verdict::need_more;
    client_hello hello_;
    std::string problem_;
    std::size_t taken_ = 0;

    unsigned char record_header_[5] = {};
    std::size_t record_header_have_ = 0;
    std::size_t record_left_ = 0; // bytes of the current record's body still to come
    std::size_t records_ = 0;
    std::string message_;          // the handshake message so far (header and body)
    std::size_t message_size_ = 0; // its whole size, once its header is in
};

} // namespace ferry::tls

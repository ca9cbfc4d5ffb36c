#include "tls/client_hello.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::tls {

namespace {

constexpr unsigned char handshake_record = 0x16;
constexpr unsigned char client_hello_type = 1;
constexpr std::size_t max_record = 1 << 14; // RFC 8446 §5.1: TLSPlaintext.length
// Room for record headers around a hello split into many small records: 3,276 records.
constexpr std::size_t record_slack = 16 * 1024;

constexpr std::uint16_t ext_server_name = 0;
constexpr std::uint16_t ext_alpn = 16;
constexpr std::uint16_t ext_supported_versions = 43;
constexpr std::uint16_t ext_ech = 0xfe0d;

// Bounds-checked reads over a byte string; a read past the end sets !ok and yields zeros.
struct cursor {
    std::string_view rest;
    bool ok = true;

    bool need(std::size_t n) {
        if (rest.size() < n) ok = false;
        return ok;
    }
    std::uint32_t number(std::size_t n) {
        if (!need(n)) return 0;
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v = (v << 8) | static_cast<unsigned char>(rest[i]);
        rest.remove_prefix(n);
        return v;
    }
    std::string_view take(std::size_t n) {
        if (!need(n)) return {};
        auto part = rest.substr(0, n);
        rest.remove_prefix(n);
        return part;
    }
    // A vector with an n-byte length prefix.
    std::string_view vec(std::size_t n) { return take(number(n)); }
};

bool is_name_byte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

// Bytes a log line can carry as they are; the rest become \xHH.
std::string log_safe(std::string_view raw, bool lower_case) {
    std::string out;
    for (char c : raw) {
        if (lower_case) c = lower(c);
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '/' ||
                          c == '+' || c == ':';
        if (keep)
            out.push_back(c);
        else
            fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned char>(c));
    }
    return out;
}

} // namespace

std::string_view verdict_name(hello_verdict v) {
    switch (v) {
    case hello_verdict::need_more:
        return "need_more";
    case hello_verdict::hello:
        return "hello";
    case hello_verdict::not_tls:
        return "not_tls";
    case hello_verdict::malformed:
        return "malformed";
    case hello_verdict::too_large:
        return "too_large";
    }
    return "?";
}

bool is_dns_name(std::string_view name) {
    if (name.empty() || name.size() > 253 || name.back() == '.') return false;
    bool last_numeric = true;
    std::size_t start = 0;
    while (start <= name.size()) {
        auto dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        const auto label = name.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        last_numeric = true;
        for (char c : label) {
            if (!is_name_byte(lower(c))) return false;
            if (c < '0' || c > '9') last_numeric = false;
        }
        start = dot + 1;
    }
    // An all-digit top label is an address literal (RFC 6066 allows none) or no name at all.
    return !last_numeric;
}

client_hello_reader::client_hello_reader(std::size_t max_hello) : max_hello_(max_hello) {}

hello_verdict client_hello_reader::fail(hello_verdict v, std::string why) {
    verdict_ = v;
    problem_ = std::move(why);
    return v;
}

hello_verdict client_hello_reader::feed(std::string_view bytes) {
    while (!bytes.empty() && verdict_ == hello_verdict::need_more) {
        if (record_header_have_ < sizeof record_header_) {
            record_header_[record_header_have_++] = static_cast<unsigned char>(bytes.front());
            bytes.remove_prefix(1);
            ++taken_;
            if (auto v = take_record_header(); v != hello_verdict::need_more) return v;
            continue;
        }
        // The record's body: the handshake message's next bytes (the header split anywhere).
        // A record can hold more after the hello: those are not taken.
        const auto body = bytes.substr(0, std::min(record_left_, bytes.size()));
        std::size_t used = 0;
        if (message_size_ == 0) {
            used = std::min(body.size(), 4 - message_.size());
            message_.append(body.substr(0, used));
        }
        if (message_size_ == 0 && message_.size() == 4) {
            if (auto v = take_handshake_header(); v != hello_verdict::need_more) {
                taken_ += used;
                return v;
            }
        }
        if (message_size_ != 0) {
            const auto more = std::min(body.size() - used, message_size_ - message_.size());
            message_.append(body.substr(used, more));
            used += more;
        }
        bytes.remove_prefix(used);
        taken_ += used;
        record_left_ -= used;
        if (record_left_ == 0) record_header_have_ = 0; // the next record's header comes next
        if (message_size_ != 0 && message_.size() == message_size_) return parse_message();
    }
    return verdict_;
}

hello_verdict client_hello_reader::finish() {
    if (verdict_ == hello_verdict::need_more && taken_ > 0)
        return fail(hello_verdict::malformed,
                    fmt::format("the client ended its stream {} bytes into a ClientHello", taken_));
    return verdict_;
}

// Called after each header byte: judges as early as the bytes allow.
hello_verdict client_hello_reader::take_record_header() {
    const bool first = records_ == 0;
    const auto* h = record_header_;
    switch (record_header_have_) {
    case 1:
        if (h[0] == handshake_record) return hello_verdict::need_more;
        if (first)
            return fail(hello_verdict::not_tls,
                        fmt::format("first byte 0x{:02x} is not a TLS handshake record", h[0]));
        return fail(hello_verdict::malformed,
                    fmt::format("a record of type {} in the middle of the ClientHello", h[0]));
    case 2:
        if (h[1] == 3) return hello_verdict::need_more;
        if (first) // 0x16 then anything: some other binary protocol
            return fail(hello_verdict::not_tls,
                        fmt::format("record version {}.x is not TLS", h[1]));
        return fail(hello_verdict::malformed, fmt::format("record version {}.x", h[1]));
    case 5: {
        const std::size_t length = std::size_t(h[3]) << 8 | h[4];
        if (length == 0) return fail(hello_verdict::malformed, "an empty handshake record");
        if (length > max_record)
            return fail(hello_verdict::malformed,
                        fmt::format("a record of {} bytes (at most {})", length, max_record));
        record_left_ = length;
        ++records_;
        // Counted by record headers, not bytes taken, so that the verdict does not depend on
        // how the bytes were split: a hello in many tiny records is too large to hold.
        if (records_ * sizeof record_header_ > record_slack)
            return fail(hello_verdict::too_large,
                        fmt::format("over {} records before the ClientHello ended",
                                    record_slack / sizeof record_header_));
        return hello_verdict::need_more;
    }
    default:
        return hello_verdict::need_more;
    }
}

hello_verdict client_hello_reader::take_handshake_header() {
    const auto type = static_cast<unsigned char>(message_[0]);
    if (type != client_hello_type)
        return fail(hello_verdict::not_tls,
                    fmt::format("a handshake message of type {}, not a ClientHello", type));
    cursor c{std::string_view(message_).substr(1)};
    const std::size_t length = c.number(3);
    if (length + 4 > max_hello_)
        return fail(
            hello_verdict::too_large,
            fmt::format("a ClientHello of {} bytes (at most {} are read)", length + 4, max_hello_));
    message_size_ = length + 4;
    message_.reserve(message_size_);
    if (message_size_ == 4) return parse_message();
    return hello_verdict::need_more;
}

namespace {

// The body of one extension, into the hello; "" or what is wrong with it.
std::string read_server_name(cursor c, client_hello& out) {
    cursor list{c.vec(2)};
    if (!c.ok || !c.rest.empty() || list.rest.empty()) return "a malformed server_name list";
    bool seen = false;
    while (!list.rest.empty()) {
        const auto type = list.number(1);
        auto name = list.vec(2);
        if (!list.ok || name.empty()) return "a malformed server_name entry";
        if (type != 0) continue; // only host_name (0) is defined
        if (seen) return "two host_names in server_name";
        seen = true;
        // One trailing dot (an absolute name) names the same server: judged without it.
        if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
        out.sni_valid = is_dns_name(name);
        if (out.sni_valid) {
            out.sni.resize(name.size());
            std::transform(name.begin(), name.end(), out.sni.begin(), lower);
        } else {
            out.sni = log_safe(name.substr(0, 255), true);
        }
    }
    return {};
}

std::string read_alpn(cursor c, client_hello& out) {
    cursor list{c.vec(2)};
    if (!c.ok || !c.rest.empty() || list.rest.empty()) return "a malformed ALPN list";
    out.alpn_present = true;
    while (!list.rest.empty()) {
        const auto name = list.vec(1);
        if (!list.ok || name.empty()) return "an empty or cut ALPN protocol name";
        out.alpn.push_back(log_safe(name, false));
    }
    return {};
}

std::string read_supported_versions(cursor c, client_hello& out) {
    cursor list{c.vec(1)};
    if (!c.ok || !c.rest.empty() || list.rest.empty() || list.rest.size() % 2 != 0)
        return "a malformed supported_versions list";
    while (!list.rest.empty())
        out.supported_versions.push_back(std::uint16_t(list.number(2)));
    return {};
}

} // namespace

hello_verdict client_hello_reader::parse_message() {
    cursor c{std::string_view(message_).substr(4)};
    hello_.size = message_size_;
    hello_.legacy_version = std::uint16_t(c.number(2));
    c.take(32); // random
    const auto session_id = c.vec(1);
    const auto suites = c.vec(2);
    const auto compression = c.vec(1);
    if (!c.ok) return fail(hello_verdict::malformed, "the ClientHello ends before its extensions");
    if (session_id.size() > 32)
        return fail(hello_verdict::malformed, "a legacy_session_id over 32 bytes");
    if (suites.empty() || suites.size() % 2 != 0)
        return fail(hello_verdict::malformed, "a malformed cipher_suites list");
    if (compression.empty()) return fail(hello_verdict::malformed, "no legacy_compression_methods");
    if (c.rest.empty()) return verdict_ = hello_verdict::hello; // no extensions (TLS 1.2 allows)
    cursor extensions{c.vec(2)};
    if (!c.ok || !c.rest.empty())
        return fail(hello_verdict::malformed, "the extensions' length does not match the hello");
    std::vector<std::uint16_t> types;
    while (!extensions.rest.empty()) {
        const auto type = std::uint16_t(extensions.number(2));
        const cursor body{extensions.vec(2)};
        if (!extensions.ok) return fail(hello_verdict::malformed, "an extension cut short");
        types.push_back(type);
        std::string problem;
        if (type == ext_server_name)
            problem = read_server_name(body, hello_);
        else if (type == ext_alpn)
            problem = read_alpn(body, hello_);
        else if (type == ext_supported_versions)
            problem = read_supported_versions(body, hello_);
        else if (type == ext_ech)
            hello_.ech = true;
        if (!problem.empty()) return fail(hello_verdict::malformed, problem);
    }
    std::sort(types.begin(), types.end());
    if (auto dup = std::adjacent_find(types.begin(), types.end()); dup != types.end())
        return fail(hello_verdict::malformed, fmt::format("extension {} appears twice", *dup));
    return verdict_ = hello_verdict::hello;
}

} // namespace ferry::tls

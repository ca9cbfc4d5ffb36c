#include "frontend/socks5_messages.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace ferry::frontend::socks5 {

namespace asio = boost::asio;

namespace {

std::uint8_t byte_at(std::string_view in, std::size_t i) {
    return static_cast<std::uint8_t>(in[i]);
}

template <class T>
parsed<T> failed(problem why) {
    parsed<T> p;
    p.status = read_status::failed;
    p.why = why;
    return p;
}

// Letters, digits, '-', '_' and '.': what a host name (or a name of DNS service labels) has.
// Anything else — NUL, control bytes, spaces, '/', '@', '%', ':' — cannot name a host.
bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

bool is_host_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

void append_port(std::uint16_t port, std::string& out) {
    out += char(port >> 8);
    out += char(port & 0xff);
}

} // namespace

std::string_view describe(reply r) {
    switch (r) {
    case reply::succeeded:
        return "succeeded";
    case reply::general_failure:
        return "general failure";
    case reply::not_allowed:
        return "connection not allowed by ruleset";
    case reply::network_unreachable:
        return "network unreachable";
    case reply::host_unreachable:
        return "host unreachable";
    case reply::connection_refused:
        return "connection refused";
    case reply::ttl_expired:
        return "TTL expired";
    case reply::command_not_supported:
        return "command not supported";
    case reply::address_type_not_supported:
        return "address type not supported";
    }
    return "unknown reply";
}

std::string_view describe(problem p) {
    switch (p) {
    case problem::none:
        return "no problem";
    case problem::bad_version:
        return "not SOCKS version 5";
    case problem::no_methods:
        return "no authentication methods offered";
    case problem::bad_command:
        return "unknown command";
    case problem::unsupported_command:
        return "command not supported (only CONNECT)";
    case problem::bad_address_type:
        return "unknown address type";
    case problem::bad_name:
        return "invalid domain name";
    }
    return "unknown problem";
}

std::optional<reply> reply_for(problem p) {
    switch (p) {
    case problem::bad_command:
    case problem::unsupported_command:
        return reply::command_not_supported;
    case problem::bad_address_type:
        return reply::address_type_not_supported;
    case problem::bad_name:
        return reply::host_unreachable; // no host has that name
    default:
        return std::nullopt;
    }
}

parsed<greeting> read_greeting(std::string_view in) {
    parsed<greeting> p;
    if (in.empty()) return p;
    if (byte_at(in, 0) != version) return failed<greeting>(problem::bad_version);
    if (in.size() < 2) return p;
    const std::size_t n = byte_at(in, 1);
    if (n == 0) return failed<greeting>(problem::no_methods);
    if (in.size() < 2 + n) return p;
    for (std::size_t i = 0; i < n; ++i) {
        const auto m = byte_at(in, 2 + i);
        if (m == std::uint8_t(method::no_auth)) p.value.no_auth = true;
        if (m == std::uint8_t(method::password)) p.value.password = true;
    }
    p.status = read_status::done;
    p.used = 2 + n;
    return p;
}

parsed<credentials> read_credentials(std::string_view in) {
    parsed<credentials> p;
    if (in.empty()) return p;
    if (byte_at(in, 0) != password_version) return failed<credentials>(problem::bad_version);
    if (in.size() < 2) return p;
    const std::size_t ulen = byte_at(in, 1);
    if (in.size() < 2 + ulen + 1) return p;
    const std::size_t plen = byte_at(in, 2 + ulen);
    if (in.size() < 3 + ulen + plen) return p;
    p.value.user.assign(in.substr(2, ulen));
    p.value.password.assign(in.substr(3 + ulen, plen));
    p.status = read_status::done;
    p.used = 3 + ulen + plen;
    return p;
}

parsed<request> read_request(std::string_view in) {
    parsed<request> p;
    if (in.empty()) return p;
    if (byte_at(in, 0) != version) return failed<request>(problem::bad_version);
    if (in.size() < 4) return p;
    const auto cmd = byte_at(in, 1);
    const auto atyp = byte_at(in, 3);
    std::size_t address_size = 0, address_at = 4;
    if (atyp == 0x01)
        address_size = 4;
    else if (atyp == 0x04)
        address_size = 16;
    else if (atyp == 0x03) {
        if (in.size() < 5) return p;
        address_size = byte_at(in, 4);
        address_at = 5;
    } else
        return failed<request>(problem::bad_address_type);
    const std::size_t total = address_at + address_size + 2;
    if (in.size() < total) return p;
    if (cmd < 0x01 || cmd > 0x03) return failed<request>(problem::bad_command);
    if (cmd != std::uint8_t(command::connect)) return failed<request>(problem::unsupported_command);
    const auto address = in.substr(address_at, address_size);
    if (atyp == 0x01) {
        asio::ip::address_v4::bytes_type b;
        for (std::size_t i = 0; i < 4; ++i)
            b[i] = byte_at(address, i);
        p.value.host = asio::ip::address_v4(b).to_string();
    } else if (atyp == 0x04) {
        asio::ip::address_v6::bytes_type b;
        for (std::size_t i = 0; i < 16; ++i)
            b[i] = byte_at(address, i);
        p.value.host = asio::ip::address_v6(b).to_string();
    } else {
        // Some clients send an IPv6 literal as a name: taken as the address it is.
        boost::system::error_code ec;
        const auto v6 = asio::ip::make_address_v6(std::string(address), ec);
        if (!ec)
            p.value.host = v6.to_string();
        else if (is_host_name(address))
            p.value.host.assign(address);
        else
            return failed<request>(problem::bad_name);
    }
    p.value.cmd = command(cmd);
    p.value.port = std::uint16_t(byte_at(in, total - 2) << 8 | byte_at(in, total - 1));
    p.status = read_status::done;
    p.used = total;
    return p;
}

std::string authority(const request& r) {
    if (r.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", r.host, r.port);
    return fmt::format("{}:{}", r.host, r.port);
}

void write_method(method m, std::string& out) {
    out += char(version);
    out += char(m);
}

void write_password_status(bool ok, std::string& out) {
    out += char(password_version);
    out += char(ok ? 0x00 : 0x01);
}

void write_reply(reply r, const asio::ip::tcp::endpoint& bound, std::string& out) {
    out += char(version);
    out += char(r);
    out += char(0x00);
    auto address = bound.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    if (address.is_v6()) {
        out += char(0x04);
        for (auto b : address.to_v6().to_bytes())
            out += char(b);
    } else {
        out += char(0x01);
        for (auto b : address.to_v4().to_bytes())
            out += char(b);
    }
    append_port(bound.port(), out);
}

} // namespace ferry::frontend::socks5

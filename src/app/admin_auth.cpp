#include "app/admin_auth.h"

#include "auth/basic.h"
#include "auth/verify.h"
#include "http/chars.h"

#include <boost/asio/ip/address_v4.hpp>
#include <openssl/sha.h>

namespace ferry::app {

namespace {

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r'))
        v.remove_suffix(1);
    return v;
}

// "Bearer <token>": the token, or "" when the value is not that scheme.
std::string_view bearer_token(std::string_view value) {
    constexpr std::string_view scheme = "bearer ";
    if (value.size() <= scheme.size() || !http::iequals(value.substr(0, scheme.size()), scheme))
        return {};
    return trim(value.substr(scheme.size()));
}

// Compares digests, so that the time taken says nothing of the token, its length included.
bool same_token(std::string_view offered, std::string_view token) {
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(offered.data()), offered.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b);
    return auth::constant_time_equal(std::string_view(reinterpret_cast<char*>(a), sizeof a),
                                     std::string_view(reinterpret_cast<char*>(b), sizeof b));
}

// A Host a DNS-rebinding page cannot send: an IP literal, localhost (RFC 6761), or none.
bool rebinding_safe_host(std::string_view host) {
    if (host.empty() || host.front() == '[') return true;
    const auto colon = host.rfind(':');
    const auto name = host.substr(0, colon);
    boost::system::error_code ec;
    boost::asio::ip::make_address_v4(std::string(name), ec);
    if (!ec) return true;
    constexpr std::string_view local = "localhost", dot_local = ".localhost";
    return http::iequals(name, local) ||
           (name.size() > dot_local.size() &&
            http::iequals(name.substr(name.size() - dot_local.size()), dot_local));
}

} // namespace

http::local_reply admin_unauthorized(std::string_view mode, std::string_view why) {
    http::local_reply r{401, "ferry: " + std::string(why) + "\n", true};
    if (mode == "token") r.extra_fields = "WWW-Authenticate: Bearer realm=\"ferry admin\"\r\n";
    r.extra_fields += "WWW-Authenticate: Basic realm=\"ferry admin\", charset=\"UTF-8\"\r\n";
    return r;
}

admin_gate gate_admin(std::string_view mode, std::string_view token, std::string_view path,
                      const http::request_head& request) {
    admin_gate gate;
    // The PAC file too: browsers fetch it without credentials, and it says only which hosts go
    // direct and where the proxy is (what a WPAD deployment publishes anyway).
    if (path == "/healthz" || path == "/proxy.pac" || path == "/wpad.dat") return gate;
    if (mode == "none") {
        // Without credentials, a page whose name was rebound to this address could read the
        // admin pages as its own origin: answer only to addresses and localhost.
        if (!rebinding_safe_host(http::find_field(request, "host"))) {
            gate.what = admin_gate::kind::refuse;
            gate.refusal = {421,
                            "ferry: without admin_auth the admin pages answer only to an IP "
                            "address or localhost in Host (DNS rebinding)\n",
                            true};
        }
        return gate;
    }
    const int fields = http::count_fields(request, "authorization");
    const auto value = http::find_field(request, "authorization");
    gate.what = admin_gate::kind::refuse;
    if (fields == 0) {
        gate.refusal = admin_unauthorized(mode, "admin credentials required");
        return gate;
    }
    if (fields > 1) {
        gate.refusal = admin_unauthorized(mode, "more than one Authorization field");
        return gate;
    }
    if (mode == "basic") {
        gate.what = admin_gate::kind::check_basic;
        gate.credentials = value;
        return gate;
    }
    // Token: as a bearer token, or as a Basic password.
    std::string_view offered = bearer_token(value);
    std::string basic_password;
    if (offered.empty()) {
        auto basic = auth::parse_basic(value);
        if (basic.ok) basic_password = std::move(basic.password);
        offered = basic_password;
    }
    if (!token.empty() && !offered.empty() && same_token(offered, token)) {
        gate.what = admin_gate::kind::pass;
        return gate;
    }
    gate.refusal = admin_unauthorized(mode, "wrong admin credentials");
    return gate;
}

std::string token_from_file_text(std::string_view text) {
    const auto end = text.find('\n');
    return std::string(trim(text.substr(0, end)));
}

} // namespace ferry::app

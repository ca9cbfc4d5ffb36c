#include "frontend/registry.h"

#include "frontend/http1.h"
#include "frontend/https.h"
#include "frontend/socks5.h"

#include <array>

namespace ferry::frontend {

namespace {

const std::array<front_end, 3> all{{
    {"http", "HTTP/1.1 forward proxy (HTTP/2 with prior knowledge: --http2-cleartext)",
     &serve_http1},
    {"https", "HTTP/1.1 and HTTP/2 forward proxy over TLS", &serve_https},
    {"socks5", "SOCKS5 proxy (RFC 1928; RFC 1929 username/password; CONNECT only)", &serve_socks5},
}};

} // namespace

std::span<const front_end> front_ends() {
    return all;
}

const front_end* front_end_for(std::string_view scheme) {
    for (const auto& f : all)
        if (f.scheme == scheme) return &f;
    return nullptr;
}

} // namespace ferry::frontend

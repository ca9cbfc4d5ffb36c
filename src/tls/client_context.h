// TLS toward a parent proxy (issue 14 §4): the client side of OpenSSL. One client_context
// (an SSL_CTX: TLS 1.2+, the parent verified against `parent_ca` or the system's CAs, ALPN
// http/1.1) is built from the settings at start and on every reload, and shared read-only
// by the workers (handed over with the settings). Each worker keeps the last session of each
// parent (session_cache) so that its next connection resumes instead of running a full
// handshake; a session is only offered to the context it was made under, so a reload that
// changes the CAs never resumes a session verified against the old ones.
#pragma once

#include "net/tls_stream.h"

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::tls {

class client_context {
public:
    // Verifies against the CA certificates (PEM) in `ca_file`, or the system's when empty.
    // Null when they cannot be loaded, with `problem` naming the file and why
    // ("parent_ca /etc/x.pem: no certificate or CRL found").
    static std::shared_ptr<const client_context> make(const std::string& ca_file,
                                                      std::string& problem);
    explicit client_context(SSL_CTX* ctx) : ctx_(ctx) {}
    ~client_context();
    client_context(const client_context&) = delete;
    client_context& operator=(const client_context&) = delete;

    SSL_CTX* native() const { return ctx_; }

private:
    SSL_CTX* ctx_;
};

// One worker's last session per parent ("host:port"). Not thread-safe: one loop.
class session_cache {
public:
    session_cache() = default;
    ~session_cache();
    session_cache(const session_cache&) = delete;
    session_cache& operator=(const session_cache&) = delete;

    // A new SSL in connect state toward `host` (a name or an IP literal, no brackets):
    // SNI for a name, the certificate checked against the name or the address, the last
    // session of host:port offered when it was made under `ctx`. Sessions the parent sends
    // on it (TLS 1.2 at the handshake, 1.3 tickets after it) are kept here. Null when
    // OpenSSL refuses (out of memory, a host OpenSSL cannot check), `problem` saying why.
    net::ssl_ptr new_ssl(const client_context& ctx, std::string_view host, std::uint16_t port,
                         std::string& problem);

    // How many parents have a session kept (for tests).
    std::size_t size() const { return slots_.size(); }

    // Where a connection's sessions go (OpenSSL's new-session callback finds it on the SSL).
    struct slot {
        SSL_CTX* ctx = nullptr; // the context `session` was made under (a reference held)
        SSL_SESSION* session = nullptr;
        void keep(SSL_CTX* under, SSL_SESSION* s);
        void clear();
    };

private:
    // Node-based: a slot's address stays valid for the SSLs that point at it.
    std::unordered_map<std::string, slot> slots_;
};

// Why the TLS handshake on `ssl` failed, for a 502's one line: the certificate check's
// verdict ("certificate verify failed (hostname mismatch)") when that was it, else what
// `ec` (from net::tls_stream) says.
std::string handshake_problem(SSL* ssl, const boost::system::error_code& ec);

} // namespace ferry::tls

// The HTTPS listeners' TLS: certificates (one chosen per handshake by SNI), protocol and
// cipher policy, ALPN, session tickets, OCSP staples and client certificates, loaded from the
// settings at start and again on reload. Immutable once loaded: a reload builds a new one,
// and connections keep the one they were accepted with (OpenSSL counts its references).
// Follows HAProxy's `bind ... ssl` and nginx's ssl_* defaults where the issue is silent.
#pragma once

#include "config/settings.h"
#include "net/tls_stream.h"
#include "tls/ticket_keys.h"

#include <memory>
#include <string>
#include <vector>

namespace ferry::tls {

enum class identity_kind { cn, san_dns, san_email, san_uri };

class server_context {
public:
    // Loads what `s` names; null and `error` naming the file and what is wrong when it cannot.
    // `offer_h2`: ALPN offers h2 before http/1.1 (config::http2_settings::enabled).
    static std::shared_ptr<const server_context> load(const config::tls_settings& s,
                                                      std::shared_ptr<ticket_keys> keys,
                                                      std::string& error, bool offer_h2 = false);
    ~server_context();
    server_context(const server_context&) = delete;
    server_context& operator=(const server_context&) = delete;

    // A new server-side TLS state for an accepted connection.
    net::ssl_ptr new_session() const;
    // After the handshake: the verified client certificate's identity, empty when there is
    // none (no certificate asked for or sent).
    std::string client_identity(SSL* ssl) const;
    bool asks_client_certificates() const { return asks_client_certificates_; }

    struct certificate {
        SSL_CTX* ctx = nullptr;
        std::vector<std::string> names; // DNS names (SAN, else CN), lower case; "*.x" wildcards
        std::string ocsp;               // DER OCSP response to staple, or empty
    };
    // For the SNI callback: the certificate for `server_name` (the first when none matches).
    const certificate& for_name(std::string_view server_name) const;

private:
    server_context() = default;

    std::vector<certificate> certificates_;
    std::shared_ptr<ticket_keys> keys_;
    identity_kind identity_ = identity_kind::cn;
    bool asks_client_certificates_ = false;
};

// Whether `name` (a host name, lower case) is covered by a certificate name: equal, or one
// label under a "*." wildcard. Pure; for SNI.
bool name_matches(std::string_view pattern, std::string_view name);

} // namespace ferry::tls

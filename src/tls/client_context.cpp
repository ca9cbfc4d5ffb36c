#include "tls/client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

namespace ferry::tls {

namespace {

// Where OpenSSL finds the session_cache::slot of an SSL.
int slot_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// OpenSSL's new-session callback: a session the parent sent is kept for the next
// connection (1: the cache now owns the reference).
int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* slot = static_cast<session_cache::slot*>(SSL_get_ex_data(ssl, slot_index()));
    if (!slot) return 0;
    slot->keep(SSL_get_SSL_CTX(ssl), session);
    return 1;
}

// The last OpenSSL error's reason, the queue cleared.
std::string openssl_reason(const char* otherwise) {
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e ? ERR_reason_error_string(e) : nullptr;
    std::string text = reason ? reason : otherwise;
    ERR_clear_error();
    return text;
}

// The CA certificates of `ca_file`, or the system's.
bool load_cas(SSL_CTX* ctx, const std::string& ca_file, std::string& problem) {
    if (ca_file.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx) == 1) return true;
        problem = "the system's CA certificates: " + openssl_reason("cannot be loaded");
        return false;
    }
    // A file that cannot be opened is named with the system's reason, which OpenSSL's
    // queue words less plainly.
    if (::access(ca_file.c_str(), R_OK) != 0) {
        problem = fmt::format("parent_ca {}: {}", ca_file, std::strerror(errno));
        return false;
    }
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) == 1) return true;
    problem = fmt::format("parent_ca {}: {}", ca_file,
                          openssl_reason("no CA certificate could be read (PEM expected)"));
    return false;
}

} // namespace

std::shared_ptr<const client_context> client_context::make(const std::string& ca_file,
                                                           std::string& problem) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        problem = "cannot make a TLS client context: " + openssl_reason("out of memory");
        return nullptr;
    }
    auto made = std::make_shared<const client_context>(ctx);
    // TLS 1.2 and 1.3 only (RFC 8996); the parent's certificate must verify.
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!load_cas(ctx, ca_file, problem)) return nullptr;
    static const unsigned char http11[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, http11, sizeof(http11) - 1);
    // Idle pooled connections to the parent hold no record buffers (HAProxy does the same).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // Sessions go to the worker's session_cache, not to OpenSSL's shared one.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return made;
}

client_context::~client_context() {
    SSL_CTX_free(ctx_);
}

void session_cache::slot::keep(SSL_CTX* under, SSL_SESSION* s) {
    if (ctx != under) {
        SSL_CTX_up_ref(under);
        SSL_CTX_free(ctx);
        ctx = under;
    }
    SSL_SESSION_free(session);
    session = s;
}

void session_cache::slot::clear() {
    SSL_SESSION_free(session);
    SSL_CTX_free(ctx);
    session = nullptr;
    ctx = nullptr;
}

session_cache::~session_cache() {
    for (auto& [key, s] : slots_)
        s.clear();
}

net::ssl_ptr session_cache::new_ssl(const client_context& ctx, std::string_view host,
                                    std::uint16_t port, std::string& problem) {
    net::ssl_ptr ssl(SSL_new(ctx.native()));
    if (!ssl) {
        problem = openssl_reason("cannot make a TLS connection");
        return nullptr;
    }
    SSL_set_connect_state(ssl.get());
    const std::string name(host);
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(name, not_ip);
    bool checked = false;
    if (not_ip) {
        // A name: sent as SNI, and the certificate must be for it (no partial wildcards,
        // as curl does).
        SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        checked = SSL_set_tlsext_host_name(ssl.get(), name.c_str()) == 1 &&
                  SSL_set1_host(ssl.get(), name.c_str()) == 1;
    } else {
        // An IP literal: no SNI (RFC 6066 §3), the certificate must name the address.
        checked = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str()) == 1;
    }
    if (!checked) {
        problem = fmt::format("cannot check a certificate for {}: {}", name,
                              openssl_reason("refused by OpenSSL"));
        return nullptr;
    }
    auto& s = slots_[fmt::format("{}:{}", name, port)];
    if (s.session && s.ctx == ctx.native() && SSL_SESSION_is_resumable(s.session))
        SSL_set_session(ssl.get(), s.session);
    SSL_set_ex_data(ssl.get(), slot_index(), &s);
    return ssl;
}

std::string handshake_problem(SSL* ssl, const boost::system::error_code& ec) {
    namespace error = boost::asio::error;
    if (const long verdict = SSL_get_verify_result(ssl); verdict != X509_V_OK)
        return fmt::format("certificate verify failed ({})",
                           X509_verify_cert_error_string(verdict));
    if (ec == error::timed_out) return "timed out";
    if (ec == error::eof || ec == error::broken_pipe || ec == error::connection_reset)
        return "the parent closed the connection during the handshake";
    // What a parent that answers in plain HTTP (an http:// parent named https://) causes.
    if (ec.category() == net::tls_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER)
        return ec.message() + " (the parent does not speak TLS on that port)";
    return ec.message();
}

} // namespace ferry::tls

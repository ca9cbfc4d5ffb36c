#include "tls/server_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace ferry::tls {

namespace {

// ALPN: what ferry speaks, in its order of preference (the server's: h2 when the client
// offers both, as nginx and HAProxy choose).
struct alpn_list {
    const unsigned char* bytes;
    unsigned int size;
};
constexpr unsigned char alpn_http1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char alpn_h2_http1[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr alpn_list only_http1{alpn_http1, sizeof alpn_http1};
constexpr alpn_list h2_and_http1{alpn_h2_http1, sizeof alpn_h2_http1};

std::string openssl_reason() {
    unsigned long e = ERR_peek_last_error();
    const char* reason = e ? ERR_reason_error_string(e) : nullptr;
    std::string text = reason ? reason : "unknown OpenSSL error";
    ERR_clear_error();
    return text;
}

// "FILE: No such file or directory": what OpenSSL would call "system lib".
std::string unreadable(const std::string& file) {
    if (::access(file.c_str(), R_OK) == 0) return {};
    return fmt::format("{}: {}", file, std::strerror(errno));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

std::string text_of(const ASN1_STRING* s) {
    if (!s) return {};
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       std::size_t(ASN1_STRING_length(s)));
}

std::string common_name(X509* x) {
    X509_NAME* subject = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i < 0) return {};
    return text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
}

// The first subjectAltName of `type` (GEN_DNS, GEN_EMAIL, GEN_URI), or every DNS name.
std::vector<std::string> alt_names(X509* x, int type) {
    std::vector<std::string> out;
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        if (n->type == type) out.push_back(text_of(n->d.ia5));
    }
    GENERAL_NAMES_free(names);
    return out;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return true;
}

int on_server_name(SSL* ssl, int*, void* arg) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;
    const auto& chosen = static_cast<const server_context*>(arg)->for_name(lower(name));
    if (chosen.ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen.ctx);
    return SSL_TLSEXT_ERR_OK;
}

// A client that offers no protocol ferry speaks goes on without ALPN, as nginx does.
int on_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
            unsigned int in_size, void* arg) {
    const auto* ours = static_cast<const alpn_list*>(arg);
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_size, ours->bytes, ours->size, in, in_size) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

int on_status_request(SSL* ssl, void* arg) {
    const auto* cert = static_cast<const server_context::certificate*>(arg);
    // After SNI the certificate is the chosen context's, whose own staple this is.
    (void)ssl;
    if (!cert || cert->ocsp.empty()) return SSL_TLSEXT_ERR_NOACK;
    auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(cert->ocsp.size()));
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    std::memcpy(copy, cert->ocsp.data(), cert->ocsp.size());
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, long(cert->ocsp.size())); // takes it
    return SSL_TLSEXT_ERR_OK;
}

identity_kind identity_of(const std::string& s) {
    if (s == "san-dns") return identity_kind::san_dns;
    if (s == "san-email") return identity_kind::san_email;
    if (s == "san-uri") return identity_kind::san_uri;
    return identity_kind::cn;
}

} // namespace

bool name_matches(std::string_view pattern, std::string_view name) {
    if (pattern == name) return true;
    if (!pattern.starts_with("*.")) return false;
    auto dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
}

namespace {

// One certificate's context, with every policy the listeners share.
std::string configure(SSL_CTX* ctx, const config::tls_settings& s, bool offer_h2) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); // RFC 8996: no TLS 1.0 or 1.1
    // The client's cipher order, as Mozilla's intermediate profile says (all are strong).
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // Not SSL_MODE_RELEASE_BUFFERS: it frees the record buffers after every record, and the
    // malloc/free (and page faults, as glibc trims) per record cost more than the TLS itself
    // on a busy keep-alive connection. An idle client gives them back when it parks
    // (frontend::park_tls, SSL_free_buffers).
    // Resumption by tickets only: no server-side session cache to grow with the clients.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    static constexpr unsigned char id[] = "ferry";
    SSL_CTX_set_session_id_context(ctx, id, sizeof id - 1);
    SSL_CTX_set_dh_auto(ctx, 1);
    if (SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1)
        return fmt::format("tls_ciphers: no cipher OpenSSL knows in \"{}\"", s.ciphers);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn,
                               const_cast<alpn_list*>(offer_h2 ? &h2_and_http1 : &only_http1));
    if (!s.client_ca.empty()) {
        if (auto problem = unreadable(s.client_ca); !problem.empty()) return problem;
        if (!s.client_crl.empty())
            if (auto problem = unreadable(s.client_crl); !problem.empty()) return problem;
        if (SSL_CTX_load_verify_file(ctx, s.client_ca.c_str()) != 1)
            return fmt::format("{}: cannot read client CA certificates: {}", s.client_ca,
                               openssl_reason());
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca.c_str());
        if (names) SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (s.client_auth == "required") mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, nullptr);
        SSL_CTX_set_verify_depth(ctx, 10);
        if (!s.client_crl.empty()) {
            X509_STORE* store = SSL_CTX_get_cert_store(ctx);
            X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
            if (!lookup || X509_load_crl_file(lookup, s.client_crl.c_str(), X509_FILETYPE_PEM) <= 0)
                return fmt::format("{}: cannot read the CRL: {}", s.client_crl, openssl_reason());
            X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
        }
    }
    return {};
}

// The certificate (chain) file, its key and staple.
std::string load_certificate(SSL_CTX* ctx, const std::string& cert, const std::string& key,
                             server_context::certificate& out) {
    for (const auto* file : {&cert, &key})
        if (auto problem = unreadable(*file); !problem.empty()) return problem;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
        return fmt::format("{}: cannot read the certificate: {}", cert, openssl_reason());
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            return fmt::format("{}: the key does not match the certificate {}", key, cert);
        }
        return fmt::format("{}: cannot read the private key: {}", key, openssl_reason());
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fmt::format("{}: the key does not match the certificate {}", key, cert);
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    for (auto& n : alt_names(leaf, GEN_DNS))
        out.names.push_back(lower(n));
    if (out.names.empty())
        if (auto cn = common_name(leaf); !cn.empty()) out.names.push_back(lower(cn));
    std::string staple;
    if (read_file(cert + ".ocsp", staple)) out.ocsp = std::move(staple);
    return {};
}

} // namespace

std::shared_ptr<const server_context> server_context::load(const config::tls_settings& s,
                                                           std::shared_ptr<ticket_keys> keys,
                                                           std::string& error, bool offer_h2) {
    std::shared_ptr<server_context> result(new server_context());
    result->keys_ = std::move(keys);
    result->identity_ = identity_of(s.client_identity);
    result->asks_client_certificates_ = !s.client_ca.empty();
    if (s.cert.empty()) {
        error = "an https:// listener needs a certificate: set tls_cert (--tls-cert)";
        return nullptr;
    }
    if (s.client_ca.empty() && (s.client_auth == "required" || !s.client_crl.empty())) {
        error = s.client_crl.empty() ? "tls_client_auth = \"required\" needs tls_client_ca"
                                     : "tls_client_crl needs tls_client_ca";
        return nullptr;
    }
    if (!s.key.empty() && s.key.size() != s.cert.size()) {
        error = fmt::format("{} certificates but {} keys: give a tls_key for each tls_cert, in "
                            "order, or put each key in its certificate file",
                            s.cert.size(), s.key.size());
        return nullptr;
    }
    result->certificates_.reserve(s.cert.size());
    for (std::size_t i = 0; i < s.cert.size(); ++i) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx) {
            error = "cannot make a TLS context: " + openssl_reason();
            return nullptr;
        }
        result->certificates_.push_back({ctx, {}, {}});
        auto& c = result->certificates_.back();
        error = configure(ctx, s, offer_h2);
        if (error.empty())
            error = load_certificate(ctx, s.cert[i], s.key.empty() ? s.cert[i] : s.key[i], c);
        if (!error.empty()) return nullptr;
        if (result->keys_) result->keys_->install(ctx);
        SSL_CTX_set_tlsext_servername_callback(ctx, on_server_name);
        SSL_CTX_set_tlsext_servername_arg(ctx, result.get());
        SSL_CTX_set_tlsext_status_cb(ctx, on_status_request);
    }
    // The staple callback's argument is the certificate, whose address is now final.
    for (auto& c : result->certificates_)
        SSL_CTX_set_tlsext_status_arg(c.ctx, &c);
    return result;
}

server_context::~server_context() {
    for (auto& c : certificates_)
        SSL_CTX_free(c.ctx);
}

const server_context::certificate& server_context::for_name(std::string_view server_name) const {
    for (const auto& c : certificates_)
        for (const auto& n : c.names)
            if (name_matches(n, server_name)) return c;
    return certificates_.front();
}

net::ssl_ptr server_context::new_session() const {
    net::ssl_ptr ssl(SSL_new(certificates_.front().ctx));
    if (ssl) SSL_set_accept_state(ssl.get());
    return ssl;
}

std::string server_context::client_identity(SSL* ssl) const {
    if (!asks_client_certificates_) return {};
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (!peer || SSL_get_verify_result(ssl) != X509_V_OK) return {};
    switch (identity_) {
    case identity_kind::cn:
        return common_name(peer);
    case identity_kind::san_dns: {
        auto v = alt_names(peer, GEN_DNS);
        return v.empty() ? std::string() : v.front();
    }
    case identity_kind::san_email: {
        auto v = alt_names(peer, GEN_EMAIL);
        return v.empty() ? std::string() : v.front();
    }
    case identity_kind::san_uri: {
        auto v = alt_names(peer, GEN_URI);
        return v.empty() ? std::string() : v.front();
    }
    }
    return {};
}

} // namespace ferry::tls

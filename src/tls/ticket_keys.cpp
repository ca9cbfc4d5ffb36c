#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace ferry::tls {

namespace {

int ex_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool set_mac_key(EVP_MAC_CTX* mac, const ticket_keys::key& k) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_init(mac, k.hmac.data(), k.hmac.size(), params) == 1;
}

// OpenSSL's ticket callback: enc = 1 seals a new ticket, 0 opens one. Returns 1 (go on),
// 2 (opened with the previous key: issue a new ticket), 0 (unknown key: full handshake),
// -1 (failure).
int on_ticket(SSL* ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
              EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
    auto* keys = static_cast<ticket_keys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
    if (!keys) return -1;
    if (enc == 1) {
        auto k = keys->current();
        if (RAND_bytes(iv, 16) != 1) return -1;
        std::memcpy(name, k.name.data(), k.name.size());
        if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1)
            return -1;
        return set_mac_key(mac, k) ? 1 : -1;
    }
    ticket_keys::key k;
    bool is_current = false;
    if (!keys->find(name, k, is_current)) return 0;
    if (!set_mac_key(mac, k)) return -1;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return -1;
    return is_current ? 1 : 2;
}

} // namespace

ticket_keys::ticket_keys(std::chrono::seconds period)
    : period_(period), made_(std::chrono::steady_clock::now()), current_(fresh()) {}

ticket_keys::key ticket_keys::fresh() {
    key k;
    RAND_bytes(k.name.data(), k.name.size());
    RAND_bytes(k.aes.data(), k.aes.size());
    RAND_bytes(k.hmac.data(), k.hmac.size());
    return k;
}

void ticket_keys::rotate_if_due() {
    auto now = std::chrono::steady_clock::now();
    if (now - made_ < period_) return;
    // Two periods late: the previous key is too old to keep as well.
    has_previous_ = now - made_ < 2 * period_;
    previous_ = current_;
    current_ = fresh();
    made_ = now;
}

ticket_keys::key ticket_keys::current() {
    std::lock_guard guard(lock_);
    rotate_if_due();
    return current_;
}

bool ticket_keys::find(const unsigned char* name, key& out, bool& is_current) {
    std::lock_guard guard(lock_);
    rotate_if_due();
    if (std::memcmp(name, current_.name.data(), current_.name.size()) == 0) {
        out = current_;
        is_current = true;
        return true;
    }
    if (has_previous_ && std::memcmp(name, previous_.name.data(), previous_.name.size()) == 0) {
        out = previous_;
        is_current = false;
        return true;
    }
    return false;
}

void ticket_keys::install(SSL_CTX* ctx) {
    SSL_CTX_set_ex_data(ctx, ex_index(), this);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
    // A ticket is good as long as its key is kept.
    SSL_CTX_set_timeout(ctx, static_cast<long>(2 * period_.count()));
}

} // namespace ferry::tls

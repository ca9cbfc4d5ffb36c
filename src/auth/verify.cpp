#include "auth/verify.h"

#include <crypt.h>
#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace ferry::auth {

namespace {

constexpr std::string_view itoa64 =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// `count` characters of crypt's base64 for the low bits of `value`, least significant first.
void append_base64(std::string& out, unsigned long value, int count) {
    while (count-- > 0) {
        out += itoa64[value & 0x3f];
        value >>= 6;
    }
}

class md5 {
public:
    md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
    ~md5() { EVP_MD_CTX_free(ctx_); }
    md5(const md5&) = delete;
    md5& operator=(const md5&) = delete;

    void update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
    void update(const unsigned char* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
    void finish(unsigned char (&out)[16]) { EVP_DigestFinal_ex(ctx_, out, nullptr); }

private:
    EVP_MD_CTX* ctx_;
};

bool verify_crypt(std::string_view password, std::string_view hash) {
    const std::string phrase(password);
    const std::string setting(hash);
    auto data = std::make_unique<crypt_data>(); // zeroed: a fresh state for this call
    const char* result = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof *data);
    const bool ok = result != nullptr && constant_time_equal(result, hash);
    OPENSSL_cleanse(data.get(), sizeof *data);
    return ok;
}

} // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false; // the length of a hash is no secret
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_slow(hash_kind kind) {
    return kind != hash_kind::apr1;
}

std::string apr1_crypt(std::string_view password, std::string_view salt) {
    constexpr std::string_view magic = "$apr1$";
    salt = salt.substr(0, std::min(salt.find('$'), std::size_t(8)));

    unsigned char digest[16];
    {
        md5 alternate;
        alternate.update(password);
        alternate.update(salt);
        alternate.update(password);
        alternate.finish(digest);
    }
    md5 ctx;
    ctx.update(password);
    ctx.update(magic);
    ctx.update(salt);
    for (auto left = password.size(); left > 0; left -= std::min<std::size_t>(left, 16))
        ctx.update(digest, std::min<std::size_t>(left, 16));
    const unsigned char zero = 0;
    for (auto bits = password.size(); bits != 0; bits >>= 1) {
        if (bits & 1)
            ctx.update(&zero, 1);
        else
            ctx.update(password.substr(0, 1));
    }
    ctx.finish(digest);

    // A thousand rounds, to make each guess cost more.
    for (int i = 0; i < 1000; ++i) {
        md5 round;
        if (i & 1)
            round.update(password);
        else
            round.update(digest, 16);
        if (i % 3) round.update(salt);
        if (i % 7) round.update(password);
        if (i & 1)
            round.update(digest, 16);
        else
            round.update(password);
        round.finish(digest);
    }

    std::string out(magic);
    out.append(salt).push_back('$');
    auto triple = [&](int a, int b, int c) {
        append_base64(
            out, (unsigned long)digest[a] << 16 | (unsigned long)digest[b] << 8 | digest[c], 4);
    };
    triple(0, 6, 12);
    triple(1, 7, 13);
    triple(2, 8, 14);
    triple(3, 9, 15);
    triple(4, 10, 5);
    append_base64(out, digest[11], 2);
    OPENSSL_cleanse(digest, sizeof digest);
    return out;
}

bool verify_password(std::string_view password, std::string_view hash) {
    // crypt(3) takes C strings: a NUL would cut the password short.
    if (password.find('\0') != std::string_view::npos) return false;
    hash_kind kind;
    if (!classify_hash(hash, kind)) return false;
    if (kind == hash_kind::apr1) {
        auto salt = hash.substr(6);
        return constant_time_equal(apr1_crypt(password, salt), hash);
    }
    return verify_crypt(password, hash);
}

} // namespace ferry::auth

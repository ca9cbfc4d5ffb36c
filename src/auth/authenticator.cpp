#include "auth/authenticator.h"

#include "auth/basic.h"
#include "auth/verify.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdexcept>

namespace ferry::auth {

namespace asio = boost::asio;

namespace {

std::string quoted_realm(std::string_view realm) {
    std::string out = "\"";
    for (char c : realm) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

// Runs on the pool: the arguments are copies, owned by this coroutine's frame.
asio::awaitable<bool> verify_on_pool(std::string password, std::string hash) {
    const bool ok = verify_password(password, hash);
    OPENSSL_cleanse(password.data(), password.size());
    co_return ok;
}

result refusal(result::outcome what, std::string user, std::string problem) {
    result r;
    r.what = what;
    r.user = std::move(user);
    r.problem = std::move(problem);
    return r;
}

} // namespace

service::service(std::shared_ptr<const user_table> users, std::string realm, unsigned threads)
    : users_(std::move(users)), realm_(std::move(realm)),
      challenge_("Proxy-Authenticate: Basic realm=" + quoted_realm(realm_) + "\r\n"),
      pool_(threads == 0 ? 1 : threads) {}

service::~service() {
    pool_.join();
}

std::string failure_line(const result& r, std::string_view client) {
    const std::string user = r.user.empty() ? std::string("-") : printable_user(r.user);
    return fmt::format("ferry: auth failed for user \"{}\" from {} ({})\n", user, client,
                       r.problem);
}

authenticator::authenticator(service* shared, std::size_t cache_size)
    : shared_(shared), cache_size_(cache_size) {
    if (RAND_bytes(key_, sizeof key_) != 1)
        throw std::runtime_error("no random bytes for the credentials cache");
}

std::string authenticator::cache_key(std::string_view user, std::string_view password,
                                     std::string_view hash) const {
    // Lengths first, so that no two (user, password, hash) triples give the same input.
    std::string input = fmt::format("{}:{}:{}:", user.size(), password.size(), hash.size());
    input.append(user).append(password).append(hash);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key_, sizeof key_, reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &size);
    OPENSSL_cleanse(input.data(), input.size());
    return std::string(reinterpret_cast<const char*>(mac), size);
}

void authenticator::remember(std::string key) {
    if (cache_size_ == 0) return;
    if (!cache_.insert(key).second) return;
    order_.push_back(std::move(key));
    while (order_.size() > cache_size_) {
        cache_.erase(order_.front());
        order_.pop_front();
    }
}

bool authenticator::prepare(std::string_view value, int fields, result& r, pending& p) const {
    using outcome = result::outcome;
    if (fields == 0) {
        r = refusal(outcome::missing, {}, "no credentials");
        return true;
    }
    if (fields > 1) {
        r = refusal(outcome::malformed, {},
                    "malformed credentials: several Proxy-Authorization fields");
        return true;
    }
    auto creds = parse_basic(value);
    if (!creds.ok) {
        r = refusal(outcome::malformed, {},
                    fmt::format("malformed credentials: {}", creds.problem));
        return true;
    }
    return prepare_user(std::move(creds.user), std::move(creds.password), r, p);
}

bool authenticator::prepare_user(std::string user, std::string password, result& r,
                                 pending& p) const {
    using outcome = result::outcome;
    const auto users = shared_->users();
    const user_entry* entry = users->find(user);
    if (entry == nullptr) {
        OPENSSL_cleanse(password.data(), password.size());
        r = refusal(outcome::unknown_user, std::move(user), "unknown user");
        return true;
    }
    p.key = cache_key(user, password, entry->hash);
    if (cache_.contains(p.key)) {
        OPENSSL_cleanse(password.data(), password.size());
        r.what = outcome::ok;
        r.user = std::move(user);
        return true;
    }
    p.user = std::move(user);
    p.password = std::move(password);
    p.hash = entry->hash; // a copy: nothing shared is used once the check suspends
    p.slow = is_slow(entry->kind);
    return false;
}

asio::awaitable<result> authenticator::check(std::string_view value, int fields) {
    result r;
    pending p;
    if (prepare(value, fields, r, p)) co_return r;
    auto task = verify(std::move(p)); // named: GCC 12 and temporaries in co_await
    co_return co_await std::move(task);
}

asio::awaitable<result> authenticator::check_password(std::string user, std::string password) {
    result r;
    pending p;
    if (prepare_user(std::move(user), std::move(password), r, p)) co_return r;
    auto task = verify(std::move(p)); // named: GCC 12 and temporaries in co_await
    co_return co_await std::move(task);
}

asio::awaitable<result> authenticator::verify(pending p) {
    result r;
    bool ok = false;
    if (p.slow) {
        auto task = verify_on_pool(p.password, p.hash);
        ok = co_await asio::co_spawn(shared_->pool(), std::move(task), asio::use_awaitable);
    } else {
        ok = verify_password(p.password, p.hash);
    }
    OPENSSL_cleanse(p.password.data(), p.password.size());
    if (ok) {
        remember(std::move(p.key));
        r.what = result::outcome::ok;
        r.user = std::move(p.user);
    } else {
        r = refusal(result::outcome::wrong_password, std::move(p.user), "wrong password");
    }
    co_return r;
}

} // namespace ferry::auth

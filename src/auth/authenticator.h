// Proxy authentication for one request: the Basic credentials of a Proxy-Authorization value
// checked against the htpasswd users. Slow hashes (bcrypt, SHA-crypt) are verified on a small
// shared thread pool while the worker's loop serves other clients; successes are remembered
// per worker, so a client's next requests cost no hashing.
#pragma once

#include "auth/htpasswd.h"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ferry::auth {

// Shared by every worker: the users, the realm, and the threads for slow verifications.
class service {
public:
    service(std::shared_ptr<const user_table> users, std::string realm, unsigned threads);
    ~service(); // waits for verifications in progress
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    // The users now: a reload (SIGHUP) may replace the table while workers read it.
    std::shared_ptr<const user_table> users() const { return users_.load(); }
    void replace_users(std::shared_ptr<const user_table> users) { users_.store(std::move(users)); }
    const std::string& realm() const { return realm_; }
    // The complete challenge field line: `Proxy-Authenticate: Basic realm="ferry"` + CRLF.
    const std::string& challenge() const { return challenge_; }
    boost::asio::thread_pool& pool() { return pool_; }

private:
    std::atomic<std::shared_ptr<const user_table>> users_;
    std::string realm_;
    std::string challenge_;
    boost::asio::thread_pool pool_;
};

struct result {
    enum class outcome { ok, missing, malformed, unknown_user, wrong_password };
    outcome what = outcome::missing;
    std::string user;    // as sent (empty when missing or unreadable)
    std::string problem; // why not: "wrong password", "malformed credentials: bad base64"
    bool ok() const { return what == outcome::ok; }
};

// The stderr line for a failed attempt (not for a missing header: a browser's first try):
// `ferry: auth failed for user "bob" from 127.0.0.1:5555 (wrong password)`, with a newline.
std::string failure_line(const result& r, std::string_view client);

// One per worker; not thread-safe (used on its worker's loop only).
class authenticator {
public:
    static constexpr std::size_t default_cache_size = 4096;

    explicit authenticator(service* shared, std::size_t cache_size = default_cache_size);

    bool enabled() const { return shared_ != nullptr; }
    const std::string& challenge() const { return shared_->challenge(); }

    // Checks a request's Proxy-Authorization: `value` of its only such field, `fields` how
    // many it had (none is `missing`, several are `malformed`). Resumes on the caller's
    // executor. `value` must stay valid until it completes.
    boost::asio::awaitable<result> check(std::string_view value, int fields);
    // Checks a user and password received otherwise (SOCKS5's RFC 1929 sub-negotiation):
    // the same users, cache and pool as `check`.
    boost::asio::awaitable<result> check_password(std::string user, std::string password);

    std::size_t cached() const { return cache_.size(); }

private:
    struct pending {
        std::string user, password, hash, key;
        bool slow = false;
    };
    // Decides what needs no hashing (true, `r` set); else fills `p` for verification.
    bool prepare(std::string_view value, int fields, result& r, pending& p) const;
    // The same, for a user and password already read.
    bool prepare_user(std::string user, std::string password, result& r, pending& p) const;
    boost::asio::awaitable<result> verify(pending p);
    std::string cache_key(std::string_view user, std::string_view password,
                          std::string_view hash) const;
    void remember(std::string key);

    service* shared_;
    std::size_t cache_size_;
    unsigned char key_[32]; // a random key, so that cache keys say nothing about passwords
    std::unordered_set<std::string> cache_;
    std::deque<std::string> order_; // oldest first, for eviction
};

} // namespace ferry::auth

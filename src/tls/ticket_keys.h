// Session-ticket keys shared by every HTTPS listener and kept across reloads: a client
// resumes (one round trip, no certificate signature) with a ticket sealed by a key ferry
// holds in memory only. The key rotates every `period`; the previous one still opens
// tickets (they are then renewed), so a ticket lives at most two periods. Thread-safe:
// handshakes on every worker ask for keys.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <mutex>

namespace ferry::tls {

class ticket_keys {
public:
    explicit ticket_keys(std::chrono::seconds period = std::chrono::hours(1));

    // Installs the ticket callback on `ctx` (which must outlive neither this object).
    void install(SSL_CTX* ctx);
    std::chrono::seconds period() const { return period_; }

    struct key {
        std::array<unsigned char, 16> name{};
        std::array<unsigned char, 32> aes{};
        std::array<unsigned char, 32> hmac{};
    };

    // For the callback: the key to seal a new ticket with (rotating first when due), and the
    // key named `name` to open one with (false when neither the current nor the previous).
    key current();
    bool find(const unsigned char* name, key& out, bool& is_current);

private:
    void rotate_if_due();
    static key fresh();

    std::mutex lock_;
    std::chrono::seconds period_;
    std::chrono::steady_clock::time_point made_;
    key current_;
    key previous_;
    bool has_previous_ = false;
};

} // namespace ferry::tls

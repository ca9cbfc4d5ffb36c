// Checking a password against an htpasswd hash. Thread-safe: bcrypt and SHA-crypt go through
// libxcrypt's crypt_rn with their own state, Apache MD5 through ferry's own apr1_crypt.
#pragma once

#include "auth/htpasswd.h"

#include <string>
#include <string_view>

namespace ferry::auth {

// True when `password` matches `hash` (any format classify_hash accepts). The final
// comparison takes the same time wherever the two differ.
bool verify_password(std::string_view password, std::string_view hash);

// Apache's MD5-crypt ($apr1$, the FreeBSD algorithm with another magic): the whole
// "$apr1$salt$hash" for `password` and `salt` (its first 8 characters, up to a '$').
std::string apr1_crypt(std::string_view password, std::string_view salt);

// Whether verifying a hash of this kind costs enough to be moved off the event loop:
// bcrypt and SHA-crypt (their cost is set by the hash); Apache MD5 is a fixed ~1000 MD5s.
bool is_slow(hash_kind kind);

bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace ferry::auth

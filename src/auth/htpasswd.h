// An htpasswd file: `user:hash` lines, parsed strictly. Only hashes ferry can verify are
// accepted (bcrypt, SHA-crypt, Apache MD5); anything else is an error naming the line, so
// that a mistake shows at start-up instead of as refused logins.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::auth {

enum class hash_kind {
    bcrypt, // $2y$ $2b$ $2a$
    sha256, // $5$
    sha512, // $6$
    apr1,   // $apr1$ (Apache's MD5-crypt)
};

struct user_entry {
    std::string hash; // as in the file, e.g. "$2y$10$..."
    hash_kind kind = hash_kind::bcrypt;
    std::size_t line = 0;
};

// The users of one htpasswd file; read-only once loaded.
struct user_table {
    std::string file; // for messages
    std::unordered_map<std::string, user_entry> users;

    const user_entry* find(std::string_view user) const;
};

// The format of a hash, or false when ferry cannot verify it (plain text, {SHA}, DES crypt,
// a malformed hash).
bool classify_hash(std::string_view hash, hash_kind& kind);

// Parses the text of an htpasswd file. Returns an empty string, or the error as one line:
// "ferry: FILE:LINE: what is wrong". Blank lines and lines starting with '#' are skipped.
std::string parse_htpasswd(std::string_view text, std::string_view file, user_table& out);

// Reads and parses FILE; the same errors, and "ferry: FILE: <errno text>" when unreadable
// ("ferry: FILE: permission denied for user NAME" when this process may not read it).
std::string load_htpasswd(const std::string& file, user_table& out);

} // namespace ferry::auth

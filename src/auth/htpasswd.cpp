#include "auth/htpasswd.h"

#include "auth/basic.h"
#include "util/process_user.h"

#include <cerrno>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace ferry::auth {

namespace {

// The alphabet of crypt(3) hashes: "./0-9A-Za-z".
bool is_crypt_char(char c) {
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

bool all_crypt_chars(std::string_view s) {
    for (char c : s)
        if (!is_crypt_char(c)) return false;
    return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// "$2y$NN$" + 22 characters of salt + 31 of hash.
bool is_bcrypt(std::string_view h) {
    if (h.size() != 60) return false;
    if (!(starts_with(h, "$2y$") || starts_with(h, "$2b$") || starts_with(h, "$2a$"))) return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$') return false;
    const int cost = (h[4] - '0') * 10 + (h[5] - '0');
    return cost >= 4 && cost <= 31 && all_crypt_chars(h.substr(7));
}

// "$5$[rounds=N$]salt$hash": salt of up to 16 characters, hash of 43 ($5$) or 86 ($6$).
bool is_sha_crypt(std::string_view h, std::string_view prefix, std::size_t hash_size) {
    if (!starts_with(h, prefix)) return false;
    h.remove_prefix(prefix.size());
    if (starts_with(h, "rounds=")) {
        h.remove_prefix(7);
        auto dollar = h.find('$');
        auto digits = h.substr(0, dollar);
        if (dollar == std::string_view::npos || digits.empty() || digits.size() > 9) return false;
        for (char c : digits)
            if (c < '0' || c > '9') return false;
        h.remove_prefix(dollar + 1);
    }
    auto dollar = h.find('$');
    if (dollar == std::string_view::npos || dollar > 16) return false;
    auto salt = h.substr(0, dollar);
    auto hash = h.substr(dollar + 1);
    return all_crypt_chars(salt) && hash.size() == hash_size && all_crypt_chars(hash);
}

// "$apr1$salt$hash": salt of 1 to 8 characters, hash of 22.
bool is_apr1(std::string_view h) {
    if (!starts_with(h, "$apr1$")) return false;
    h.remove_prefix(6);
    auto dollar = h.find('$');
    if (dollar == std::string_view::npos || dollar == 0 || dollar > 8) return false;
    auto hash = h.substr(dollar + 1);
    return all_crypt_chars(h.substr(0, dollar)) && hash.size() == 22 && all_crypt_chars(hash);
}

} // namespace

const user_entry* user_table::find(std::string_view user) const {
    auto it = users.find(std::string(user));
    return it == users.end() ? nullptr : &it->second;
}

bool classify_hash(std::string_view hash, hash_kind& kind) {
    if (is_bcrypt(hash)) {
        kind = hash_kind::bcrypt;
    } else if (is_sha_crypt(hash, "$5$", 43)) {
        kind = hash_kind::sha256;
    } else if (is_sha_crypt(hash, "$6$", 86)) {
        kind = hash_kind::sha512;
    } else if (is_apr1(hash)) {
        kind = hash_kind::apr1;
    } else {
        return false;
    }
    return true;
}

std::string parse_htpasswd(std::string_view text, std::string_view file, user_table& out) {
    out = {};
    out.file = std::string(file);
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos || line[first] == '#') continue;

        auto fail = [&](std::string_view what) {
            return fmt::format("ferry: {}:{}: {}", file, number, what);
        };
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return fail("expected user:hash");
        auto user = line.substr(0, colon);
        if (user.empty()) return fail("empty user name");
        // Apache ignores anything after a second colon; so does ferry.
        auto hash = line.substr(colon + 1);
        hash = hash.substr(0, hash.find(':'));
        while (!hash.empty() && (hash.back() == ' ' || hash.back() == '\t'))
            hash.remove_suffix(1);
        user_entry entry;
        entry.line = number;
        if (!classify_hash(hash, entry.kind))
            return fail(
                fmt::format("unsupported password format for user \"{}\" (ferry accepts bcrypt "
                            "$2y$, SHA-crypt $5$/$6$ and Apache MD5 $apr1$)",
                            printable_user(user)));
        entry.hash = std::string(hash);
        auto [it, fresh] = out.users.emplace(std::string(user), std::move(entry));
        if (!fresh)
            return fail(fmt::format("duplicate user \"{}\" (first on line {})",
                                    printable_user(user), it->second.line));
    }
    return {};
}

std::string load_htpasswd(const std::string& file, user_table& out) {
    std::ifstream in(file, std::ios::binary);
    // A file the service user may not read is named with that user: on a reload after
    // dropping root, that is the usual cause.
    if (!in) return fmt::format("ferry: {}: {}", file, util::access_error(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return fmt::format("ferry: {}: read error", file);
    return parse_htpasswd(text.str(), file, out);
}

} // namespace ferry::auth

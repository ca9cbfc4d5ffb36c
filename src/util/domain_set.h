// A large set of host names and domains (`[[acl]]` dest_file, issue 18): exact hosts and
// ".domain" entries (the domain and every subdomain), as block lists hold them by the million.
// Pure: no I/O. Built once by config/list_file, then shared read-only.
//
// Layout: every name once in one char arena (a length byte, a kind byte, the characters),
// and an open-addressing table (linear probing, power-of-two size, at most 70% full) of
// 8-byte slots: the name's arena offset and 32 bits of its hash, so that a probe rarely
// touches the arena unless the name is there. A lookup hashes the host from its last
// character to its first, so the hash of every label suffix ("b.c", "c" of "a.b.c") falls
// out of one pass: O(labels) probes, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ferry::util {

class domain_set {
public:
    static constexpr std::size_t longest_name = 253; // RFC 1035 §2.3.4, as text

    // Adds a lower-case host name (no trailing dot); `subdomains`: it also stands for every
    // name ending in ".name". False (nothing added) for an empty or over-long name.
    bool insert(std::string_view name, bool subdomains);
    // Room for `names` names of `chars` characters in all, before inserting them.
    void reserve(std::size_t names, std::size_t chars);
    // Gives back the arena's unused reserve (after the last insert).
    void shrink() { arena_.shrink_to_fit(); }

    // True when `host` (lower-case; one trailing dot ignored) is an exact entry, or it or
    // one of its parent domains is a ".domain" entry.
    bool contains(std::string_view host) const;

    std::size_t size() const { return size_; }
    std::size_t memory_bytes() const; // what the arena and the table hold
    bool operator==(const domain_set& other) const;

private:
    struct slot {
        std::uint32_t offset = empty; // into arena_
        std::uint32_t tag = 0;        // the hash's upper half
    };
    static constexpr std::uint32_t empty = 0xffffffffu;
    enum : unsigned char { exact = 1, suffix = 2 };

    const slot* find(std::string_view name, std::uint64_t hash) const;
    bool too_full(std::size_t names) const;
    void grow();
    void place(std::uint32_t offset, std::uint64_t hash);

    std::vector<char> arena_; // [length][kind][characters]...
    std::vector<slot> slots_; // size a power of two, or empty
    std::size_t size_ = 0;
};

// The hash a domain_set uses for a name (its characters taken from the last to the first),
// exposed for the tests of its distribution.
std::uint64_t domain_hash(std::string_view name);

} // namespace ferry::util

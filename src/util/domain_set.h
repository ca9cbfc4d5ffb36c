// A large set of host names and domains (`[[acl]]` dest_file, issue 18): exact hosts and
// ".domain" entries (the domain and every subdomain), as block lists hold them by the million.
// Pure: no I/O. Built once by config/list_file (insert every name, then seal()), then shared
// read-only.
//
// Layout: every name in one char arena (a length byte, a kind byte, the characters), and an
// open-addressing table (linear probing, power-of-two size, at most 70% full) of 8-byte
// slots: the name's arena offset and 32 bits of its hash, so that a probe rarely touches the
// arena unless the name is there. A lookup hashes the host from its last character to its
// first, so the hash of every label suffix ("c", "b.c" of "a.b.c") falls out of one pass:
// O(labels) probes, no allocation.
//
// Building: insert() only appends to the arena and notes the hash; seal() sorts the notes by
// hash (whose top bits are the home slot), merges duplicates, and places the names in slot
// order, so that filling a table larger than the caches walks it once instead of missing
// the cache on every insert.
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
    // name ending in ".name". False (nothing added) for an empty or over-long name. Looked
    // up only after the next seal().
    bool insert(std::string_view name, bool subdomains);
    // Room for `names` more names of `chars` characters in all.
    void reserve(std::size_t names, std::size_t chars);
    // Builds the table from every name inserted; gives back the spare capacity.
    void seal();

    // True when `host` (lower-case; one trailing dot ignored) is an exact entry, or it or
    // one of its parent domains is a ".domain" entry.
    bool contains(std::string_view host) const;

    std::size_t size() const { return size_; } // distinct names, as of the last seal()
    std::size_t memory_bytes() const;          // what the arena and the table hold
    bool operator==(const domain_set& other) const;

private:
    struct slot {
        std::uint32_t offset = empty; // into arena_
        std::uint32_t tag = 0;        // the hash's lower half
    };
    struct note {
        std::uint64_t hash;
        std::uint32_t offset;
    };
    static constexpr std::uint32_t empty = 0xffffffffu;
    enum : unsigned char { exact = 1, suffix = 2 };

    std::string_view name_at(std::uint32_t offset) const;
    const slot* find(std::string_view name, std::uint64_t hash) const;
    std::size_t home(std::uint64_t hash) const { return hash >> shift_; }
    void place(std::uint32_t offset, std::uint64_t hash);
    void merge_duplicates();

    std::vector<char> arena_; // [length][kind][characters]...
    std::vector<slot> slots_; // a power of two in size, or empty
    std::vector<note> notes_; // inserted since the last seal()
    unsigned shift_ = 63;     // home slot = the hash's top bits
    std::size_t size_ = 0;
};

// The hash a domain_set uses for a name (its characters taken from the last to the first),
// exposed for the tests of its distribution.
std::uint64_t domain_hash(std::string_view name);

} // namespace ferry::util

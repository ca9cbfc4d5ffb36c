#include "util/domain_set.h"

#include <cstring>

namespace ferry::util {

namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ull;
constexpr std::uint64_t fnv_prime = 0x100000001b3ull;

// FNV-1a's state, one character further to the left.
std::uint64_t step(std::uint64_t h, char c) {
    return (h ^ static_cast<unsigned char>(c)) * fnv_prime;
}

// FNV alone leaves the low bits (the table index) weak for names that differ in one
// character: MurmurHash3's finaliser spreads every bit over all of them.
std::uint64_t mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

} // namespace

std::uint64_t domain_hash(std::string_view name) {
    std::uint64_t h = fnv_offset;
    for (std::size_t i = name.size(); i-- > 0;)
        h = step(h, name[i]);
    return mix(h);
}

const domain_set::slot* domain_set::find(std::string_view name, std::uint64_t hash) const {
    const std::size_t mask = slots_.size() - 1;
    const auto tag = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        const slot& s = slots_[i];
        if (s.offset == empty) return nullptr;
        if (s.tag != tag) continue;
        const char* entry = arena_.data() + s.offset;
        if (static_cast<unsigned char>(entry[0]) == name.size() &&
            std::memcmp(entry + 2, name.data(), name.size()) == 0)
            return &s;
    }
}

void domain_set::place(std::uint32_t offset, std::uint64_t hash) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i].offset != empty)
        i = (i + 1) & mask;
    slots_[i] = {offset, static_cast<std::uint32_t>(hash >> 32)};
}

// Linear probing stays short (2.2 slots on average for a hit, 6 for a miss) up to 70% full.
bool domain_set::too_full(std::size_t names) const {
    return names * 10 > slots_.size() * 7;
}

void domain_set::grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, slot{});
    for (const slot& s : old)
        if (s.offset != empty) {
            const char* entry = arena_.data() + s.offset;
            place(s.offset, domain_hash({entry + 2, static_cast<unsigned char>(entry[0])}));
        }
}

void domain_set::reserve(std::size_t names, std::size_t chars) {
    arena_.reserve(arena_.size() + chars + 2 * names);
    while (too_full(size_ + names))
        grow();
}

bool domain_set::insert(std::string_view name, bool subdomains) {
    if (name.empty() || name.size() > longest_name) return false;
    if (arena_.size() + name.size() + 2 >= empty) return false; // 4 GiB of names
    if (too_full(size_ + 1)) grow();
    const auto hash = domain_hash(name);
    const unsigned char kind = subdomains ? suffix : exact;
    if (const slot* s = find(name, hash)) {
        arena_[s->offset + 1] = static_cast<char>(arena_[s->offset + 1] | kind);
        return true;
    }
    const auto offset = static_cast<std::uint32_t>(arena_.size());
    arena_.push_back(static_cast<char>(name.size()));
    arena_.push_back(static_cast<char>(kind));
    arena_.insert(arena_.end(), name.begin(), name.end());
    place(offset, hash);
    ++size_;
    return true;
}

bool domain_set::contains(std::string_view host) const {
    // A fully qualified name's trailing dot names the same host (as policy/host_match).
    if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
    if (size_ == 0 || host.empty() || host.size() > longest_name) return false;
    // One pass from the right: at each label's first character the state is the hash of that
    // label suffix ("c", "b.c", "a.b.c"). The slots are prefetched together, so the cache
    // misses of a large table overlap instead of following one another.
    struct probe {
        std::size_t start;
        std::uint64_t hash;
    };
    probe probes[longest_name / 2 + 1];
    std::size_t n = 0;
    const std::size_t mask = slots_.size() - 1;
    std::uint64_t h = fnv_offset;
    for (std::size_t i = host.size(); i-- > 0;) {
        h = step(h, host[i]);
        if (i != 0 && host[i - 1] != '.') continue;
        probes[n] = {i, mix(h)};
        __builtin_prefetch(&slots_[probes[n].hash & mask]);
        ++n;
    }
    for (std::size_t k = 0; k < n; ++k) {
        const slot* s = find(host.substr(probes[k].start), probes[k].hash);
        // The whole host matches an exact entry or a .domain; a parent domain only a .domain.
        if (s && (probes[k].start == 0 || (arena_[s->offset + 1] & suffix))) return true;
    }
    return false;
}

std::size_t domain_set::memory_bytes() const {
    return arena_.capacity() + slots_.capacity() * sizeof(slot);
}

bool domain_set::operator==(const domain_set& other) const {
    if (size_ != other.size_) return false;
    if (arena_ == other.arena_) return true; // built from the same lines: the same bytes
    for (const slot& s : slots_) {
        if (s.offset == empty) continue;
        const char* entry = arena_.data() + s.offset;
        const std::string_view name(entry + 2, static_cast<unsigned char>(entry[0]));
        const slot* theirs = other.find(name, domain_hash(name));
        if (!theirs || other.arena_[theirs->offset + 1] != entry[1]) return false;
    }
    return true;
}

} // namespace ferry::util

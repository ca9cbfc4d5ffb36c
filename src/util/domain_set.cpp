#include "util/domain_set.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ferry::util {

namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ull;
constexpr std::uint64_t fnv_prime = 0x100000001b3ull;

// FNV-1a's state, one character further to the left.
std::uint64_t step(std::uint64_t h, char c) {
    return (h ^ static_cast<unsigned char>(c)) * fnv_prime;
}

// FNV alone leaves bits weak for names that differ in one character: MurmurHash3's
// finaliser spreads every bit over all of them (the top bits pick the slot, the low ones
// are the tag).
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

std::string_view domain_set::name_at(std::uint32_t offset) const {
    const char* entry = arena_.data() + offset;
    return {entry + 2, static_cast<unsigned char>(entry[0])};
}

const domain_set::slot* domain_set::find(std::string_view name, std::uint64_t hash) const {
    const std::size_t mask = slots_.size() - 1;
    const auto tag = static_cast<std::uint32_t>(hash);
    for (std::size_t i = home(hash);; i = (i + 1) & mask) {
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
    std::size_t i = home(hash);
    while (slots_[i].offset != empty)
        i = (i + 1) & mask;
    slots_[i] = {offset, static_cast<std::uint32_t>(hash)};
}

void domain_set::reserve(std::size_t names, std::size_t chars) {
    arena_.reserve(arena_.size() + chars + 2 * names);
    notes_.reserve(notes_.size() + names);
}

bool domain_set::insert(std::string_view name, bool subdomains) {
    if (name.empty() || name.size() > longest_name) return false;
    if (arena_.size() + name.size() + 2 >= empty) return false; // 4 GiB of names
    const auto offset = static_cast<std::uint32_t>(arena_.size());
    arena_.push_back(static_cast<char>(name.size()));
    arena_.push_back(static_cast<char>(subdomains ? suffix : exact));
    arena_.insert(arena_.end(), name.begin(), name.end());
    notes_.push_back({domain_hash(name), offset});
    return true;
}

// notes_ sorted by hash: a name given twice (or as host and as .domain) keeps its first
// entry, with both kinds; the later copy's arena bytes stay, unreferenced.
void domain_set::merge_duplicates() {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < notes_.size(); ++i) {
        bool merged = false;
        for (std::size_t j = kept; j-- > 0 && notes_[j].hash == notes_[i].hash;)
            if (name_at(notes_[j].offset) == name_at(notes_[i].offset)) {
                arena_[notes_[j].offset + 1] |= arena_[notes_[i].offset + 1];
                merged = true;
                break;
            }
        if (!merged) notes_[kept++] = notes_[i];
    }
    notes_.resize(kept);
}

void domain_set::seal() {
    if (notes_.empty()) return;
    // The names already in the table are placed again with the new ones.
    for (const slot& s : slots_)
        if (s.offset != empty) notes_.push_back({domain_hash(name_at(s.offset)), s.offset});
    std::sort(notes_.begin(), notes_.end(),
              [](const note& a, const note& b) { return a.hash < b.hash; });
    merge_duplicates();
    // Linear probing stays short up to 70% full (2.2 slots for a hit, 6 for a miss).
    const std::size_t wanted = std::max<std::size_t>(16, (notes_.size() * 10 + 6) / 7);
    const std::size_t size = std::bit_ceil(wanted);
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(size));
    slots_.assign(size, slot{});
    for (const note& n : notes_) // in slot order: one walk over the table
        place(n.offset, n.hash);
    size_ = notes_.size();
    std::vector<note>().swap(notes_); // (`= {}` would keep the capacity)
    arena_.shrink_to_fit();
}

bool domain_set::contains(std::string_view host) const {
    // A fully qualified name's trailing dot names the same host (as policy/host_match).
    if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
    if (size_ == 0 || host.empty()) return false;
    // One pass from the right: at each label's first character the state is the hash of that
    // label suffix ("c", "b.c", "a.b.c"). The slots are prefetched together, so the cache
    // misses of a large table overlap instead of following one another.
    struct probe {
        std::size_t start;
        std::uint64_t hash;
    };
    probe probes[longest_name + 1];
    std::size_t n = 0;
    std::uint64_t h = fnv_offset;
    // No entry is longer than longest_name: a longer host can only be a subdomain of one.
    const std::size_t stop = host.size() > longest_name ? host.size() - longest_name : 0;
    for (std::size_t i = host.size(); i-- > stop;) {
        h = step(h, host[i]);
        if (i != 0 && host[i - 1] != '.') continue;
        probes[n] = {i, mix(h)};
        __builtin_prefetch(&slots_[home(probes[n].hash)]);
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
    return arena_.capacity() + slots_.capacity() * sizeof(slot) + notes_.capacity() * sizeof(note);
}

bool domain_set::operator==(const domain_set& other) const {
    if (size_ != other.size_) return false;
    if (arena_ == other.arena_) return true; // built from the same lines: the same bytes
    for (const slot& s : slots_) {
        if (s.offset == empty) continue;
        const auto name = name_at(s.offset);
        const slot* theirs = other.find(name, domain_hash(name));
        if (!theirs || other.arena_[theirs->offset + 1] != arena_[s.offset + 1]) return false;
    }
    return true;
}

} // namespace ferry::util

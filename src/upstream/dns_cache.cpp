#include "upstream/dns_cache.h"

#include <algorithm>

namespace ferry::upstream {

std::optional<dns_cache::addresses> dns_cache::find(const std::string& name,
                                                    clock::time_point now) {
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expiry->first <= now) {
        erase(it);
        return std::nullopt;
    }
    return it->second.found;
}

void dns_cache::put(const std::string& name, addresses found, std::chrono::seconds ttl,
                    clock::time_point now) {
    if (found.empty()) return put_negative(name, now);
    if (ttl.count() <= 0) {
        // Not to be cached: and an older answer must not outlive this one.
        if (auto it = entries_.find(name); it != entries_.end()) erase(it);
        return;
    }
    store(name, std::move(found), now + std::min(ttl, max_ttl), now);
}

void dns_cache::put_negative(const std::string& name, clock::time_point now) {
    if (negative_ttl_.count() <= 0) {
        if (auto it = entries_.find(name); it != entries_.end()) erase(it);
        return;
    }
    store(name, {}, now + negative_ttl_, now);
}

void dns_cache::store(const std::string& name, addresses found, clock::time_point until,
                      clock::time_point now) {
    if (capacity_ == 0) return;
    if (auto it = entries_.find(name); it != entries_.end()) {
        by_expiry_.erase(it->second.expiry);
        it->second.found = std::move(found);
        it->second.expiry = by_expiry_.emplace(until, name);
        return;
    }
    if (entries_.size() >= capacity_) make_room(now);
    auto expiry = by_expiry_.emplace(until, name);
    entries_.emplace(name, entry{std::move(found), expiry});
}

void dns_cache::erase(std::unordered_map<std::string, entry>::iterator it) {
    by_expiry_.erase(it->second.expiry);
    entries_.erase(it);
}

void dns_cache::make_room(clock::time_point now) {
    // Everything expired goes (it is at the front of the index); if nothing has, the entry
    // closest to expiring goes, being the one worth least.
    bool removed = false;
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
        entries_.erase(by_expiry_.begin()->second);
        by_expiry_.erase(by_expiry_.begin());
        removed = true;
    }
    if (!removed && !by_expiry_.empty()) {
        entries_.erase(by_expiry_.begin()->second);
        by_expiry_.erase(by_expiry_.begin());
    }
}

} // namespace ferry::upstream

#include "upstream/pool.h"

#include <algorithm>

namespace ferry::upstream {

std::size_t pool::idle(std::string_view key) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() ? 0 : it->second.size();
}

void pool::erase(lru_list::iterator it) {
    auto found = by_key_.find(it->conn->key);
    if (found != by_key_.end()) {
        auto& v = found->second;
        v.erase(std::find(v.begin(), v.end(), it));
        if (v.empty()) by_key_.erase(found);
    }
    lru_.erase(it); // closes the socket
}

std::unique_ptr<connection> pool::take(std::string_view key) {
    auto found = by_key_.find(key);
    if (found == by_key_.end()) return nullptr;
    auto& v = found->second;
    while (!v.empty()) {
        auto it = v.back();
        v.pop_back();
        auto c = std::move(it->conn);
        lru_.erase(it);
        if (c->still_usable()) {
            if (v.empty()) by_key_.erase(found);
            ++stats_.reused;
            return c;
        }
        ++stats_.stale; // the origin closed it, or sent something unasked: never hand out
    }
    by_key_.erase(found);
    return nullptr;
}

void pool::put(std::unique_ptr<connection> c, net::steady_time now) {
    if (limits_.per_key == 0 || limits_.total == 0 || !c->socket.is_open()) return;
    auto& v = by_key_[c->key];
    if (v.size() >= limits_.per_key) {
        auto oldest = v.front();
        v.erase(v.begin());
        lru_.erase(oldest);
        ++stats_.evicted;
    }
    if (lru_.size() >= limits_.total) {
        erase(lru_.begin());
        ++stats_.evicted;
    }
    lru_.push_back(entry{std::move(c), now});
    by_key_[lru_.back().conn->key].push_back(std::prev(lru_.end()));
}

void pool::sweep(net::steady_time now) {
    while (!lru_.empty() && lru_.front().since + limits_.idle_timeout <= now) {
        erase(lru_.begin());
        ++stats_.evicted;
    }
}

void pool::clear() {
    by_key_.clear();
    lru_.clear();
}

} // namespace ferry::upstream

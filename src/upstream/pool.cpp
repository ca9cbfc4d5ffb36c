#include "upstream/pool.h"

#include "observe/counter.h"

#include <boost/asio/buffer.hpp>

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
    }
    it->conn.reset(); // closes the socket
    retire(it);
}

void pool::retire(lru_list::iterator it) {
    spare_.splice(spare_.end(), lru_, it);
}

std::unique_ptr<connection> pool::take(std::string_view key) {
    auto found = by_key_.find(key);
    if (found == by_key_.end()) return nullptr;
    // An emptied key keeps its (empty) vector: a host asked for once is likely asked for
    // again, and this spares an allocation per request. sweep() drops them in bulk.
    auto& v = found->second;
    while (!v.empty()) {
        auto it = v.back();
        v.pop_back();
        auto c = std::move(it->conn);
        const bool watched = it->watched;
        retire(it);
        // A watched connection that closed or talked was dropped when it happened; one put
        // since the last sweep is checked now (a non-blocking peek).
        boost::system::error_code ignored;
        if (auto* socket = c->socket(); watched && socket)
            socket->cancel(ignored); // its handler sees operation_aborted
        if (watched ? c->stream->is_open() && c->buffer.empty() : c->still_usable()) {
            observe::bump(stats_.reused);
            observe::set(stats_.idle, lru_.size());
            return c;
        }
        observe::bump(stats_.stale);
    }
    observe::set(stats_.idle, lru_.size());
    return nullptr;
}

bool pool::put(std::unique_ptr<connection> c, net::steady_time now) {
    if (limits_.per_key == 0 || limits_.total == 0 || !c->stream->is_open()) return false;
    if (lru_.size() >= limits_.total) {
        erase(lru_.begin());
        observe::bump(stats_.evicted);
    }
    auto found = by_key_.find(c->key);
    if (found == by_key_.end())
        found = by_key_.emplace(c->key, std::vector<lru_list::iterator>{}).first;
    auto& v = found->second;
    if (v.size() >= limits_.per_key) {
        auto oldest = v.front();
        v.erase(v.begin());
        oldest->conn.reset();
        retire(oldest);
        observe::bump(stats_.evicted);
    }
    // An idle connection holds no receive buffer (the next exchange takes a new one), and
    // its deadlines no cancellation handlers.
    c->buffer.release_if_empty();
    c->stream->reading.release();
    c->stream->writing.release();
    if (spare_.empty()) {
        lru_.push_back(entry{std::move(c), now});
    } else {
        lru_.splice(lru_.end(), spare_, spare_.begin());
        lru_.back() = entry{std::move(c), now};
    }
    v.push_back(std::prev(lru_.end()));
    observe::set(stats_.idle, lru_.size());
    return true;
}

void pool::watch(connection& c) {
    // A peek leaves whatever arrives in the socket; the connection is dropped either way.
    auto* socket = c.socket();
    if (!socket) return; // a test's stream: checked when taken
    socket->async_receive(boost::asio::buffer(&c.watch_byte, 1),
                          boost::asio::socket_base::message_peek,
                          [this, watched = &c](const boost::system::error_code& ec, std::size_t) {
                              if (ec == boost::asio::error::operation_aborted) return;
                              drop_watched(watched);
                          });
}

void pool::drop_watched(const connection* c) {
    // Rare (an origin closing an idle connection): a walk over the idle list is fine, and it
    // never touches a connection that has left the pool.
    for (auto it = lru_.begin(); it != lru_.end(); ++it) {
        if (it->conn.get() == c) {
            erase(it);
            observe::bump(stats_.stale);
            observe::set(stats_.idle, lru_.size());
            return;
        }
    }
}

void pool::sweep(net::steady_time now) {
    while (!lru_.empty() && lru_.front().since + limits_.idle_timeout <= now) {
        erase(lru_.begin());
        observe::bump(stats_.evicted);
    }
    for (auto& e : lru_) {
        if (e.watched) continue;
        e.watched = true;
        watch(*e.conn);
    }
    observe::set(stats_.idle, lru_.size());
    // Keys left empty are kept for reuse, but not without bound.
    if (by_key_.size() > lru_.size() + 256)
        std::erase_if(by_key_, [](const auto& kv) { return kv.second.empty(); });
}

void pool::clear() {
    by_key_.clear();
    lru_.clear();
    spare_.clear();
    observe::set(stats_.idle, 0);
}

} // namespace ferry::upstream

#include "upstream/resolver.h"

#include "observe/counter.h"

#include <algorithm>
#include <ares.h>
#include <arpa/inet.h>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <stdexcept>

namespace ferry::upstream {

namespace asio = boost::asio;
using core::errc;
using error_code = boost::system::error_code;

// One name being resolved, and who waits for it. Allocated when the query starts and freed
// by its c-ares callback, which always comes exactly once (at the latest from ares_destroy).
struct resolver::lookup {
    resolver* owner;
    std::string name;
    clock::time_point deadline;
    struct waiter {
        std::uint64_t id;
        handler_type handler;
    };
    std::vector<waiter> waiters;
    bool detached = false; // given up on (timed out): no longer in inflight_
};

// A socket c-ares opened, watched for what c-ares wants to know.
struct resolver::watch {
    watch(asio::io_context& io, int fd) : descriptor(io, fd), fd(fd) {}
    asio::posix::stream_descriptor descriptor; // released, never closed: c-ares owns the fd
    int fd;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false; // a wait is pending
    bool closed = false;
};

namespace {

std::string cannot_resolve(const std::string& name) {
    return fmt::format("ferry: cannot resolve {}", name);
}

void init_library_once() {
    static std::once_flag once;
    std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// Servers from --dns-server, as c-ares wants them.
void set_servers(ares_channel channel, const std::vector<config::dns_server>& servers) {
    std::vector<ares_addr_port_node> nodes(servers.size());
    for (std::size_t i = 0; i < servers.size(); ++i) {
        auto& node = nodes[i];
        std::memset(&node, 0, sizeof node);
        node.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
        node.udp_port = node.tcp_port = servers[i].port;
        const auto& text = servers[i].address;
        if (inet_pton(AF_INET, text.c_str(), &node.addr.addr4) == 1)
            node.family = AF_INET;
        else if (inet_pton(AF_INET6, text.c_str(), &node.addr.addr6) == 1)
            node.family = AF_INET6;
        else
            throw std::runtime_error(fmt::format("--dns-server {}: not an IP address", text));
    }
    int rc = ares_set_servers_ports(channel, nodes.data());
    if (rc != ARES_SUCCESS)
        throw std::runtime_error(fmt::format("cannot use --dns-server: {}", ares_strerror(rc)));
}

std::optional<asio::ip::address> address_of(const sockaddr* sa) {
    if (sa == nullptr) return std::nullopt;
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        return asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &in6->sin6_addr, bytes.size());
        return asio::ip::address_v6(bytes, in6->sin6_scope_id);
    }
    return std::nullopt;
}

} // namespace

resolver::resolver(asio::io_context& io, const config::settings& settings)
    : io_(io), timeout_(settings.dns_timeout),
      cache_(settings.dns_cache_size, settings.dns_negative_ttl), timer_(io) {
    init_library_once();
    ares_options options{};
    int mask = 0;
    // Two tries per server, the second twice as long (c-ares doubles it): with one server
    // the whole lookup takes at most --dns-timeout; with more, the overall deadline of each
    // lookup (see expire_overdue) still holds it to that.
    options.timeout = std::max<int>(1, static_cast<int>(timeout_.count() / 3));
    options.tries = 2;
    mask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    // /etc/hosts first, then DNS.
    char lookups[] = "fb";
    options.lookups = lookups;
    mask |= ARES_OPT_LOOKUPS;
    // No search list: a proxy resolves the names it is given, as they are.
    options.domains = nullptr;
    options.ndomains = 0;
    mask |= ARES_OPT_DOMAINS;
    options.sock_state_cb = &resolver::on_socket_state;
    options.sock_state_cb_data = this;
    mask |= ARES_OPT_SOCK_STATE_CB;
    ares_channel channel = nullptr;
    int rc = ares_init_options(&channel, &options, mask);
    if (rc != ARES_SUCCESS)
        throw std::runtime_error(fmt::format("cannot set up DNS: {}", ares_strerror(rc)));
    channel_ = channel;
    if (!settings.dns_servers.empty()) {
        try {
            set_servers(channel_, settings.dns_servers);
        } catch (...) {
            ares_destroy(channel_);
            channel_ = nullptr;
            throw;
        }
    }
}

resolver::~resolver() {
    shutdown();
}

void resolver::shutdown() {
    if (channel_ == nullptr) return;
    // Every pending callback runs now with ARES_EDESTRUCTION, and every socket is reported
    // closed (on_socket_state with neither flag), which releases our descriptors.
    ares_channel channel = channel_;
    ares_destroy(channel);
    channel_ = nullptr;
    for (auto& [fd, w] : watches_) {
        w->closed = true;
        error_code ignored;
        w->descriptor.cancel(ignored);
        w->descriptor.release();
    }
    watches_.clear();
    timer_.cancel();
    timer_armed_ = false;
}

void resolver::start(std::string name, handler_type handler) {
    const auto now = clock::now();
    if (channel_ == nullptr) {
        complete(std::move(handler), asio::error::operation_aborted, {}, true);
        return;
    }
    if (auto hit = cache_.find(name, now)) {
        observe::bump(stats_.cache_hits);
        resolve_result result;
        if (hit->empty())
            result.error = {errc::resolve_failed, cannot_resolve(name)};
        else
            result.addresses = std::move(*hit);
        complete(std::move(handler), {}, std::move(result), true);
        return;
    }
    observe::bump(stats_.cache_misses);
    const auto id = next_waiter_++;
    if (auto it = inflight_.find(name); it != inflight_.end()) {
        wait_for(id, *it->second, std::move(handler));
        return;
    }
    auto* l = new lookup{this, name, now + timeout_, {}, false};
    inflight_.emplace(name, l);
    wait_for(id, *l, std::move(handler));
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NOSORT; // ferry orders the addresses itself
    // May call on_done before it returns (an /etc/hosts entry, an error): `l` may be gone.
    ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &resolver::on_done, l);
    reschedule();
}

void resolver::wait_for(std::uint64_t id, lookup& l, handler_type handler) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
        // Cancelling one waiter leaves the query running, for the others and the cache.
        slot.assign([this, id](asio::cancellation_type type) {
            if (type != asio::cancellation_type::none) cancel_waiter(id);
        });
    }
    l.waiters.push_back({id, std::move(handler)});
    waiting_.emplace(id, &l);
}

void resolver::cancel_waiter(std::uint64_t id) {
    auto it = waiting_.find(id); // absent when it completed already: a late signal
    if (it == waiting_.end()) return;
    auto& waiters = it->second->waiters;
    waiting_.erase(it);
    auto w = std::find_if(waiters.begin(), waiters.end(),
                          [id](const lookup::waiter& x) { return x.id == id; });
    if (w == waiters.end()) return;
    auto handler = std::move(w->handler);
    waiters.erase(w);
    // Not clearing the slot: this runs inside its handler.
    complete(std::move(handler), asio::error::operation_aborted, {}, false);
}

void resolver::finish(lookup& l, error_code ec, const resolve_result& result) {
    auto waiters = std::move(l.waiters);
    l.waiters.clear();
    for (auto& w : waiters) {
        waiting_.erase(w.id);
        complete(std::move(w.handler), ec, result, true);
    }
}

void resolver::complete(handler_type handler, error_code ec, resolve_result result,
                        bool clear_slot) {
    if (clear_slot) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
    }
    // Never from inside the caller's initiation or c-ares' own processing.
    asio::post(io_, asio::append(std::move(handler), ec, std::move(result)));
}

void resolver::on_done(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
    std::unique_ptr<lookup> l(static_cast<lookup*>(arg));
    resolver& self = *l->owner;
    resolve_result result;
    int ttl = INT_MAX;
    if (res != nullptr) {
        for (auto* node = res->nodes; node != nullptr; node = node->ai_next) {
            auto address = address_of(node->ai_addr);
            if (!address) continue;
            if (std::find(result.addresses.begin(), result.addresses.end(), *address) !=
                result.addresses.end())
                continue;
            result.addresses.push_back(*address);
            ttl = std::min(ttl, node->ai_ttl);
        }
        // An alias expires with its CNAME record too.
        for (auto* cname = res->cnames; cname != nullptr; cname = cname->next)
            ttl = std::min(ttl, cname->ttl);
        ares_freeaddrinfo(res);
    }
    if (!l->detached) self.inflight_.erase(l->name);

    const auto now = clock::now();
    error_code ec;
    switch (status) {
    case ARES_SUCCESS:
        if (!result.addresses.empty()) {
            self.cache_.put(l->name, result.addresses, std::chrono::seconds(std::max(ttl, 0)), now);
            break;
        }
        [[fallthrough]];
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
        self.cache_.put_negative(l->name, now);
        result.addresses.clear();
        result.error = {errc::resolve_failed, cannot_resolve(l->name)};
        break;
    case ARES_ETIMEOUT:
        result.error = {errc::resolve_timeout,
                        fmt::format("ferry: timed out resolving {}", l->name)};
        break;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        ec = asio::error::operation_aborted;
        break;
    default:
        result.error = {errc::resolve_failed, fmt::format("ferry: cannot resolve {} ({})", l->name,
                                                          ares_strerror(status))};
        break;
    }
    if (status != ARES_SUCCESS) result.addresses.clear();
    self.finish(*l, ec, result);
}

void resolver::on_socket_state(void* data, int fd, int readable, int writable) {
    static_cast<resolver*>(data)->socket_state(fd, readable != 0, writable != 0);
}

void resolver::socket_state(int fd, bool readable, bool writable) {
    auto it = watches_.find(fd);
    if (!readable && !writable) {
        // c-ares is about to close it: let go of it first.
        if (it == watches_.end()) return;
        auto w = it->second;
        watches_.erase(it);
        w->closed = true;
        error_code ignored;
        w->descriptor.cancel(ignored);
        w->descriptor.release();
        return;
    }
    if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<watch>(io_, fd)).first;
    auto w = it->second;
    w->want_read = readable;
    w->want_write = writable;
    arm(w);
}

void resolver::arm(const std::shared_ptr<watch>& w) {
    if (w->closed) return;
    if (w->want_read && !w->reading) {
        w->reading = true;
        w->descriptor.async_wait(asio::posix::descriptor_base::wait_read, [this, w](error_code ec) {
            w->reading = false;
            if (ec || w->closed) return; // `this` may be gone when cancelled
            ares_process_fd(channel_, w->fd, ARES_SOCKET_BAD);
            arm(w);
            reschedule();
        });
    }
    if (w->want_write && !w->writing) {
        w->writing = true;
        w->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                 [this, w](error_code ec) {
                                     w->writing = false;
                                     if (ec || w->closed) return;
                                     ares_process_fd(channel_, ARES_SOCKET_BAD, w->fd);
                                     arm(w);
                                     reschedule();
                                 });
    }
}

void resolver::expire_overdue(clock::time_point now) {
    std::vector<lookup*> overdue;
    for (auto& [name, l] : inflight_)
        if (l->deadline <= now) overdue.push_back(l);
    for (auto* l : overdue) {
        // c-ares goes on with it (bounded by its own timeouts) and may still cache an
        // answer; the waiters are told now, and a new lookup of the name starts afresh.
        inflight_.erase(l->name);
        l->detached = true;
        resolve_result result;
        result.error = {errc::resolve_timeout,
                        fmt::format("ferry: timed out resolving {}", l->name)};
        finish(*l, {}, result);
    }
}

void resolver::reschedule() {
    if (channel_ == nullptr) return;
    const auto now = clock::now();
    expire_overdue(now);
    std::optional<clock::time_point> next;
    timeval tv{};
    if (ares_timeout(channel_, nullptr, &tv) != nullptr)
        next = now + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    for (auto& [name, l] : inflight_)
        if (!next || l->deadline < *next) next = l->deadline;
    if (!next) {
        if (timer_armed_) timer_.cancel();
        timer_armed_ = false;
        return;
    }
    if (timer_armed_ && timer_at_ == *next) return;
    timer_armed_ = true;
    timer_at_ = *next;
    timer_.expires_at(*next);
    timer_.async_wait([this](error_code ec) {
        if (ec) return; // replaced or cancelled; `this` may be gone
        on_timer();
    });
}

void resolver::on_timer() {
    timer_armed_ = false;
    if (channel_ == nullptr) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD); // c-ares' own timeouts
    reschedule();
}

} // namespace ferry::upstream

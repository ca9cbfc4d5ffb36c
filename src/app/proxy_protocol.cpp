#include "app/proxy_protocol.h"

#include "net/proxy_header.h"
#include "policy/host_match.h"

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

header_refusal refused(proxy_refusal reason, std::string_view why) {
    return {reason, why};
}

// The peer has shut down its side: what was peeked is all there will be.
bool peer_finished(int fd) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// Receives exactly `size` bytes, already peeked (so already here).
bool consume(int fd, unsigned char* buffer, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        const auto n = ::recv(fd, buffer + got, size - got, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
    }
    return true;
}

std::string endpoint_text(const tcp::endpoint& e) {
    const auto a = e.address();
    if (a.is_v6() && !a.to_v6().is_v4_mapped())
        return fmt::format("[{}]:{}", a.to_string(), e.port());
    const auto v4 = a.is_v6() ? asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()) : a;
    return fmt::format("{}:{}", v4.to_string(), e.port());
}

} // namespace

bool trusted_balancer(const asio::ip::address& peer, const std::vector<config::direct_rule>& from) {
    const auto text = peer.to_string(); // policy::matches unmaps ::ffff:a.b.c.d itself
    return std::any_of(from.begin(), from.end(),
                       [&](const config::direct_rule& r) { return policy::matches(r, text); });
}

asio::awaitable<header_result> read_proxy_header(tcp::socket& socket, tcp::endpoint balancer,
                                                 header_wait& wait) {
    // Peeked first, waited for only when nothing decides yet: the loop is single-threaded, so
    // bytes that arrive between a peek and the wait wake the wait at the loop's next poll.
    std::array<unsigned char, net::proxy_header_max> buffer;
    const int fd = socket.native_handle();
    std::size_t seen = 0;
    for (;;) {
        const auto n = ::recv(fd, buffer.data(), buffer.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) co_return refused(proxy_refusal::closed, "closed before sending a header");
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            co_return refused(proxy_refusal::closed, "reset before the header was whole");
        if (n > 0) {
            const auto r = net::parse_proxy_header({buffer.data(), std::size_t(n)});
            using status = net::proxy_parse_status;
            if (r.status == status::malformed) co_return refused(proxy_refusal::malformed, r.why);
            if (r.status == status::too_large) co_return refused(proxy_refusal::too_large, r.why);
            if (r.status == status::done) {
                if (!consume(fd, buffer.data(), r.header.size))
                    co_return refused(proxy_refusal::closed, "reset while the header was read");
                co_return r.header.local ? balancer : r.header.source;
            }
            // Nothing new since the last wake, and the peer will send nothing more.
            if (std::size_t(n) == seen && peer_finished(fd))
                co_return refused(proxy_refusal::closed, "closed before the header was whole");
            seen = std::size_t(n);
        }
        auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, wait.deadline.bind());
        if (wait.cancelled) co_return refused(proxy_refusal::closed, "ferry is shutting down");
        if (wait.deadline.expired)
            co_return refused(proxy_refusal::timeout, "no whole header within "
                                                      "proxy_protocol_timeout");
        if (ec && ec != asio::error::operation_aborted)
            co_return refused(proxy_refusal::closed, "reset before the header was whole");
    }
}

std::string refusal_log::line(proxy_refusal reason, const tcp::endpoint& peer,
                              const tcp::endpoint& listener, std::string_view why,
                              std::chrono::steady_clock::time_point now) {
    const auto i = static_cast<std::size_t>(reason);
    std::uint64_t left_out = 0;
    {
        std::lock_guard lock(mutex_);
        auto& s = slots_[i];
        if (s.last != std::chrono::steady_clock::time_point{} &&
            now - s.last < std::chrono::seconds(1)) {
            ++s.left_out;
            return {};
        }
        left_out = s.left_out;
        s.left_out = 0;
        s.last = now;
    }
    auto out = fmt::format("ferry: PROXY protocol: closed {} on {}: {} ({})", endpoint_text(peer),
                           endpoint_text(listener), observe::proxy_protocol_refusal_names[i], why);
    if (left_out > 0)
        out += fmt::format("; {} more closed for this reason since the last line", left_out);
    return out;
}

} // namespace ferry::app

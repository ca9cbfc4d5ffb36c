#include "upstream/happy_eyeballs.h"

#include "net/io.h"
#include "upstream/attempt_plan.h"

#include <boost/asio/steady_timer.hpp>
#include <optional>

namespace ferry::upstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

// One address being tried, on its own socket.
struct attempt {
    explicit attempt(const tcp::socket::executor_type& executor) : socket(executor) {}
    tcp::socket socket;
    error_code result;
    bool ended = false;    // its completion ran
    bool seen = false;     // the race has looked at that
    bool given_up = false; // closed by the race for taking too long
};

// The race's state, in the frame of race_addresses: the completions refer to it, so the
// race does not return before every one of them has run.
class race {
public:
    race(net::tcp_stream& stream, std::size_t addresses, race_timing timing)
        : stream_(stream), wake_(stream.socket().get_executor()),
          plan_(addresses, timing.delay, timing.attempt_timeout) {
        attempts_.reserve(addresses); // no reallocation: completions index into it
    }

    // Takes what ended, gives up late attempts, starts those due: true when the race is
    // over (won, or lost), else wake() is armed for the next start or give-up.
    bool advance(const std::vector<asio::ip::address>& addresses, std::uint16_t port);
    // After a wait on wake(): true when the wait was cut by the connect deadline or a cancel.
    bool interrupted(error_code ec, const net::deadline& deadline);
    void keep_winner();
    bool pending() const { return pending_ > 0; }
    const race_outcome& outcome() const { return out_; }
    asio::steady_timer& wake() { return wake_; }

private:
    void start(const tcp::endpoint& endpoint);
    void ended(std::size_t i, error_code ec);
    bool take_ends(clock::time_point now);
    void give_up_late(clock::time_point now);

    net::tcp_stream& stream_;
    asio::steady_timer wake_; // the next start or give-up; an attempt's end cancels it
    attempt_plan plan_;
    std::vector<attempt> attempts_;
    std::size_t unseen_ = 0;  // attempts ended that the race has not looked at
    std::size_t pending_ = 0; // completions still to run
    std::optional<std::size_t> winner_;
    race_outcome out_{asio::error::host_not_found};
};

void race::start(const tcp::endpoint& endpoint) {
    const std::size_t i = attempts_.size();
    auto& a = attempts_.emplace_back(stream_.socket().get_executor());
    ++pending_;
    // Opens the socket for the endpoint's family; a failure to open comes back as an end.
    a.socket.async_connect(endpoint, [this, i](error_code ec) { ended(i, ec); });
}

void race::ended(std::size_t i, error_code ec) {
    auto& a = attempts_[i];
    a.ended = true;
    a.result = ec;
    ++unseen_;
    --pending_;
    wake_.cancel();
}

// Looks at the attempts that ended: true when one connected.
bool race::take_ends(clock::time_point now) {
    for (std::size_t i = 0; i < attempts_.size() && unseen_ > 0; ++i) {
        auto& a = attempts_[i];
        if (!a.ended || a.seen) continue;
        a.seen = true;
        --unseen_;
        if (a.given_up) continue; // counted when it was given up
        if (!a.result) {
            if (!winner_) winner_ = i;
            continue;
        }
        out_.last = a.result;
        plan_.failed(i, now);
    }
    return winner_.has_value();
}

void race::give_up_late(clock::time_point now) {
    while (auto i = plan_.give_up_due(now)) {
        auto& a = attempts_[*i];
        a.given_up = true;
        error_code ignored;
        a.socket.close(ignored); // its completion comes as operation_aborted
        out_.last = asio::error::timed_out;
    }
}

// The winner becomes the stream's socket; every other attempt is closed.
void race::keep_winner() {
    error_code ignored;
    for (std::size_t i = 0; i < attempts_.size(); ++i)
        if (i != winner_) attempts_[i].socket.close(ignored);
    if (winner_) {
        stream_.socket() = std::move(attempts_[*winner_].socket);
        out_ = race_outcome{};
    }
}

bool race::advance(const std::vector<asio::ip::address>& addresses, std::uint16_t port) {
    const auto now = clock::now();
    if (take_ends(now)) return true;
    give_up_late(now);
    while (auto i = plan_.start_due(now))
        start(tcp::endpoint(addresses[*i], port));
    if (plan_.lost()) return true;
    wake_.expires_at(plan_.next_event());
    return false;
}

bool race::interrupted(error_code ec, const net::deadline& deadline) {
    // The deadline's end or a cancel (the session closing) ends the race even when it landed
    // after the wait had completed for another reason (an attempt's end, the next start) and
    // so cancelled nothing: the flags say it happened.
    if (!deadline.expired && !deadline.cancelled &&
        (ec != asio::error::operation_aborted || unseen_ > 0))
        return false; // time for the next start, or an attempt's end
    out_.timed_out = deadline.expired;
    out_.last = asio::error::operation_aborted;
    return true;
}

} // namespace

asio::awaitable<race_outcome> race_addresses(net::tcp_stream& stream,
                                             const std::vector<asio::ip::address>& addresses,
                                             std::uint16_t port, race_timing timing) {
    race r(stream, addresses.size(), timing);
    auto& deadline = stream.writing;
    while (!r.advance(addresses, port)) {
        auto [ec] = co_await r.wake().async_wait(deadline.bind());
        if (r.interrupted(ec, deadline)) break;
    }
    // The deadline's cancellation slot still points into the timer, which dies with r.
    deadline.release();
    r.keep_winner();
    while (r.pending()) { // the closed attempts' completions, posted already
        r.wake().expires_at(clock::time_point::max());
        co_await r.wake().async_wait(net::use_nothrow); // ends at the next completion
    }
    co_return r.outcome();
}

} // namespace ferry::upstream

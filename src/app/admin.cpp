#include "app/admin.h"

#include "app/admin_auth.h"
#include "frontend/pages.h"
#include "net/listener.h"
#include "net/tcp_stream.h"
#include "observe/clock.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <charconv>
#include <list>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto write_timeout = 10s;
constexpr std::size_t most_pending = 1 << 20; // a stream that falls this far behind is ended
constexpr auto keep_alive_after = 15s;        // a comment line on a stream silent this long

std::string now_date() {
    return observe::http_date(std::chrono::system_clock::now());
}

} // namespace

// One admin connection; a stream's stays open, its bytes queued in `pending` by the ticker.
struct admin_connection {
    admin_connection(std::shared_ptr<admin_server::state> s, std::unique_ptr<net::stream> c,
                     asio::io_context& io)
        : st(std::move(s)), client(std::move(c)), wake(io) {}
    std::shared_ptr<admin_server::state> st; // first: destroyed last
    std::unique_ptr<net::stream> client;
    admin_answer::stream kind = admin_answer::stream::none;
    std::string pending;
    asio::steady_timer wake;
    std::uint64_t after = 0; // flow: the newest sequence number queued
    net::steady_time last_write{};
    bool done = false;
};

struct admin_server::state {
    state(asio::io_context& i, admin_source& s) : io(i), source(s) {}
    asio::io_context& io;
    admin_source& source;
    admin_routes routes;
    net::steady_time now = std::chrono::steady_clock::now();
    net::deadline_list deadlines;
    std::list<admin_connection*> streams;
    std::optional<auth::authenticator> basic; // the htpasswd users' checks, made when needed
    std::int64_t ticked_second = 0;
    std::uint64_t published = 0; // the newest flow entry queued to the flow streams
    bool stopped = false;
};

namespace {

void queue(admin_connection& c, std::string_view bytes) {
    if (c.done) return;
    if (c.pending.size() + bytes.size() > most_pending) {
        c.done = true; // too slow a reader: it reconnects, with Last-Event-ID
        c.client->close();
        return;
    }
    c.pending += bytes;
    c.wake.cancel();
}

std::string flow_event(const observe::flow_entry& e) {
    std::string out = "id: " + std::to_string(e.seq) + "\nevent: exchange\ndata: ";
    observe::append_flow_entry_json(e, out);
    out += "\n\n";
    return out;
}

std::string tick_event(admin_source& source, std::int64_t second) {
    return "event: tick\ndata: " + source.status_json(false, second) + "\n\n";
}

std::int64_t unix_now() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// The flow entries after `after` queued on `c` (a stream starting, or the ticker's batch).
void queue_flow(admin_connection& c, const std::vector<observe::flow_entry>& entries) {
    for (const auto& e : entries) {
        if (e.seq <= c.after) continue;
        queue(c, flow_event(e));
        c.after = e.seq;
    }
}

// A reconnecting stream's replay after its Last-Event-ID: the newest entries that fit in half
// the stream's bound, so that a long replay never closes the stream before its head is out
// (the page catches up on older ones from /api/flow?after=).
void queue_replay(admin_connection& c, const std::vector<observe::flow_entry>& entries) {
    std::vector<std::string> events;
    std::size_t bytes = 0;
    for (auto it = entries.rbegin(); it != entries.rend() && it->seq > c.after; ++it) {
        auto event = flow_event(*it);
        if (bytes + event.size() > most_pending / 2) break;
        bytes += event.size();
        events.push_back(std::move(event));
    }
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        queue(c, *it);
    if (!entries.empty()) c.after = std::max(c.after, entries.back().seq);
}

// Until the client closes (or sends too much, or the stream ends): then the writer stops.
asio::awaitable<void> watch_for_close(std::shared_ptr<admin_connection> c) {
    net::byte_buffer in(256);
    std::size_t received = 0; // a client has nothing more to say: a little is tolerated
    while (!c->done) {
        std::size_t got = 0;
        auto ec = co_await c->client->read_some(in, 4096, std::chrono::hours(24), got);
        received += got;
        in.consume(in.size());
        if (ec || got == 0 || received > 64 * 1024) break;
    }
    c->done = true;
    c->wake.cancel();
}

asio::awaitable<void> run_stream(std::shared_ptr<admin_connection> c) {
    auto& st = *c->st;
    st.streams.push_back(c.get());
    asio::co_spawn(st.io, watch_for_close(c), asio::detached);
    while (!c->done && !st.stopped) {
        if (c->pending.empty()) {
            c->wake.expires_at(asio::steady_timer::time_point::max());
            co_await c->wake.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        std::string out;
        out.swap(c->pending);
        c->last_write = st.now;
        auto ec = co_await c->client->write(asio::buffer(out), write_timeout);
        if (ec) break;
    }
    c->done = true;
    st.streams.remove(c.get());
    c->client->close();
}

std::string stream_head(std::string_view date) {
    std::string head = "HTTP/1.1 200 OK\r\nServer: ferry\r\nDate: ";
    head += date;
    head += "\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n";
    return head;
}

// A stream: its head and what is due at once (a tick; the flow entries after the client's
// last), then whatever the ticker queues.
asio::awaitable<void> open_stream(std::shared_ptr<admin_connection> c, const admin_answer& a) {
    auto& st = *c->st;
    c->kind = a.opens;
    c->pending = stream_head(now_date());
    if (a.opens == admin_answer::stream::ticks) {
        c->pending += tick_event(st.source, unix_now() - 1);
    } else {
        auto& ring = st.source.flow();
        c->after = ring.last();
        if (a.flow_after) {
            // A sequence number from before a restart (beyond the ring's newest) starts over.
            c->after = *a.flow_after <= ring.last() ? *a.flow_after : 0;
            queue_replay(*c, ring.since(c->after, ring.capacity()));
        }
    }
    co_await run_stream(c);
}

asio::awaitable<bool> basic_allowed(admin_server::state& st, std::string_view credentials) {
    auto* users = st.source.users();
    if (!users) co_return false;
    if (!st.basic) st.basic.emplace(users);
    auto verdict = co_await st.basic->check(credentials, 1);
    co_return verdict.ok();
}

http::local_reply not_allowed() {
    http::local_reply r{405, "ferry: only GET and HEAD\n", true};
    r.extra_fields = "Allow: GET, HEAD\r\n";
    return r;
}

// The credentials, the method and the route: what a request for `target` (path and query)
// gets.
asio::awaitable<admin_answer> decide(admin_server::state& st, const http::request_head& head,
                                     std::string_view target) {
    const auto mark = target.find('?');
    const auto path = target.substr(0, mark);
    const auto query =
        mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
    admin_answer answer;
    const auto running = st.source.running();
    const auto gate = gate_admin(running->admin_auth, st.source.admin_token(), path, head);
    bool allowed = gate.what == admin_gate::kind::pass;
    if (gate.what == admin_gate::kind::check_basic) {
        allowed = co_await basic_allowed(st, gate.credentials);
        if (!allowed) answer.reply = admin_unauthorized("basic", "wrong admin credentials");
    } else if (gate.what == admin_gate::kind::refuse) {
        answer.reply = gate.refusal;
    }
    const auto* handler = st.routes.find(path);
    if (allowed) {
        if (head.method != "GET" && head.method != "HEAD")
            answer.reply = not_allowed();
        else if (!handler)
            answer.reply = {404, "ferry: not found\n", true};
        else {
            const admin_request r{head, path, query, st.source};
            answer = co_await (*handler)(r);
        }
    }
    co_return answer;
}

asio::awaitable<void> serve(std::shared_ptr<admin_connection> c) {
    auto& st = *c->st;
    frontend::page_request request;
    if (!co_await frontend::read_page_request(*c->client, frontend::page_limits{}, request))
        co_return;
    const std::string date = now_date();
    if (!request.parsed) {
        co_await frontend::send_page_reply(*c->client, request.refusal, date, write_timeout);
        co_return;
    }
    const auto& head = request.head;
    admin_answer answer = co_await decide(st, head, head.target);
    if (answer.opens != admin_answer::stream::none && head.method == "GET") {
        if (st.streams.size() >= admin_server::max_watchers || st.stopped) {
            http::local_reply busy{503, "ferry: too many live views open\n", true};
            busy.extra_fields = "Retry-After: 5\r\n";
            co_await frontend::send_page_reply(*c->client, busy, date, write_timeout);
            co_return;
        }
        co_await open_stream(c, answer);
        co_return;
    }
    auto& reply = answer.reply;
    if (answer.opens != admin_answer::stream::none) reply.content_type = "text/event-stream";
    reply.close = true;
    reply.head_only = head.method == "HEAD" && reply.status < 300;
    co_await frontend::send_page_reply(*c->client, reply, date, write_timeout);
}

} // namespace

asio::awaitable<http::local_reply> admin_server::answer_elsewhere(const http::request_head& head,
                                                                  std::string_view target) {
    auto answer = co_await decide(*state_, head, target);
    if (answer.opens != admin_answer::stream::none)
        co_return http::local_reply{404, "ferry: live streams are on the admin listener only\n",
                                    false};
    co_return answer.reply;
}

void admin_routes::add(std::string path, admin_handler handler) {
    routes_.emplace_back(std::move(path), std::move(handler));
}

const admin_handler* admin_routes::find(std::string_view path) const {
    for (const auto& [p, h] : routes_) {
        if (p == path) return &h;
        if (p.size() > 1 && p.ends_with('/') && path.size() > p.size() && path.starts_with(p))
            return &h;
    }
    return nullptr;
}

std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name)
            return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

admin_server::admin_server(asio::io_context& io, tcp::acceptor acceptor, admin_source& source)
    : state_(std::make_shared<state>(io, source)), acceptor_(std::move(acceptor)), ticker_(io) {
    boost::system::error_code ec;
    port_ = acceptor_.local_endpoint(ec).port();
    add_standard_routes(state_->routes);
}

admin_server::~admin_server() = default;

admin_routes& admin_server::routes() {
    return state_->routes;
}

std::size_t admin_server::watchers() const {
    return state_->streams.size();
}

void admin_server::start() {
    auto st = state_;
    asio::co_spawn(st->io,
                   net::accept_loop(acceptor_,
                                    [st](tcp::socket s) {
                                        auto stream = std::make_unique<net::tcp_stream>(
                                            std::move(s), st->now, &st->deadlines);
                                        auto c = std::make_shared<admin_connection>(
                                            st, std::move(stream), st->io);
                                        asio::co_spawn(st->io, serve(std::move(c)), asio::detached);
                                    }),
                   asio::detached);
    tick();
}

// Every 200 ms: the deadlines; new flow entries to the flow streams; once a second, a tick
// (the second just completed) to the tick streams; a comment on a stream silent for long.
void admin_server::tick() {
    auto& st = *state_;
    st.now = std::chrono::steady_clock::now();
    st.deadlines.expire_passed(st.now);
    if (st.stopped && st.deadlines.size() == 0) return;
    auto& ring = st.source.flow();
    const auto newest = ring.last();
    const auto second = unix_now();
    if (!st.streams.empty() && !st.stopped) {
        if (newest < st.published) st.published = 0;
        bool any_flow = false;
        for (auto* c : st.streams)
            any_flow = any_flow || c->kind == admin_answer::stream::flow;
        if (any_flow && newest > st.published) {
            auto entries = ring.since(st.published, ring.capacity());
            for (auto* c : st.streams)
                if (c->kind == admin_answer::stream::flow) queue_flow(*c, entries);
        }
        if (second != st.ticked_second) {
            std::string event;
            for (auto* c : st.streams) {
                if (c->kind != admin_answer::stream::ticks) continue;
                if (event.empty()) event = tick_event(st.source, second - 1);
                queue(*c, event);
            }
        }
        for (auto* c : st.streams)
            if (c->pending.empty() && st.now - c->last_write > keep_alive_after)
                queue(*c, ": keep-alive\n\n");
    }
    st.published = newest;
    st.ticked_second = second;
    ticker_.expires_after(200ms);
    ticker_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
    });
}

void admin_server::stop() {
    state_->stopped = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto* c : state_->streams) {
        c->done = true;
        c->wake.cancel();
        c->client->close();
    }
}

} // namespace ferry::app

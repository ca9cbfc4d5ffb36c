// The tunnel phase (RFC 9110 §9.3.6): connect, answer 200, then relay bytes
// both ways unchanged until both directions have ended. An accepted Upgrade (101, see
// forward.cpp) ends in the same relay.
#include "net/tls_stream.h"
#include "observe/counter.h"
#include "proxy/causes.h"
#include "proxy/exchange.h"
#include "tunnel/pipe.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ferry::proxy {

namespace asio = boost::asio;

asio::awaitable<void> exchange::tunnel_direction(bool toward_origin, tunnel::pipe_state& state,
                                                 tunnel::pipe_end& end,
                                                 const http::authority* connect) {
    const auto idle = settings().tunnel_idle_timeout;
    const bool splice = settings().splice;
    bool go_on = true;
    if (toward_origin && connect) go_on = co_await peek_first_bytes(*connect, state, end);
    // if/else, not ?: — GCC 12 mishandles co_await inside a conditional expression.
    if (go_on) {
        if (toward_origin)
            co_await tunnel::pipe(client_in(), upstream_out(), idle, state, splice, end);
        else
            co_await tunnel::pipe(upstream_in(), client_out(), idle, state, splice, end);
    }
    if (end.error && !state.stop) {
        // A reset or a timeout ends the whole tunnel: stop the other direction too.
        state.stop = true;
        for (auto* d : {&client_.stream.reading, &client_.stream.writing, &up().stream->reading,
                        &up().stream->writing})
            d->cancel();
    }
}

asio::ip::tcp::endpoint exchange::upstream_local_endpoint() {
    auto* socket = up().stream->tcp();
    if (auto* secure = dynamic_cast<net::tls_stream*>(up().stream)) // TLS to a parent
        socket = &secure->socket();
    boost::system::error_code ec;
    if (socket) {
        auto bound = socket->local_endpoint(ec);
        if (!ec) return bound;
    }
    return {};
}

asio::awaitable<next> exchange::tunnel(const http::target& dest) {
    // Two coroutines, so that the frame that stays for the tunnel's life is this small one,
    // not one holding the route, the parent's timeouts and the awaitables of the set-up.
    std::optional<next> ended = co_await establish_tunnel(dest);
    if (ended) co_return *ended;
    co_return co_await relay_tunnel(&dest.where);
}

asio::awaitable<std::optional<next>> exchange::establish_tunnel(const http::target& dest) {
    const auto& cfg = settings();
    // A tunnel gets a connection of its own, never a pooled HTTP one.
    const auto where = upstream::route_for(cfg, dest.where.host, dest.where.port);
    bool reused = false;
    if (auto e = co_await open_upstream(where, upstream_choice::fresh, reused))
        co_return co_await fail(e, true);
    if (where.parent) {
        const upstream::tunnel_timeouts timeouts{cfg.send_timeout, cfg.response_timeout};
        upstream::tunnel_request connect{req_, dest, cfg.parent->authorization, {}};
        connect.options.loop_token = ctx_.loop_token();
        if (auto e =
                co_await upstream::open_tunnel(up(), connect, store_.request_out,
                                               response_storage(), cfg.max_header_size, timeouts)) {
            drop_upstream();
            co_return co_await fail(e, true);
        }
    }

    rec_.status = 200;
    rec_.status_line = "HTTP/1.1 200 Connection established";
    store_.out.clear();
    client_.protocol.tunnel_established(upstream_local_endpoint(), store_.out);
    if (auto ec =
            co_await net::write_all(client_out(), asio::buffer(store_.out), cfg.send_timeout)) {
        rec_.cause = client_write_problem(ec, "200 response").cause;
        drop_upstream();
        co_return next::close;
    }
    co_return std::nullopt;
}

// Who ended a tunnel that did not end cleanly: the idle timeout, or the side whose read or
// write failed first (toward the origin, reads are the client's side and writes the
// origin's; toward the client, the other way round). A tunnel both sides closed has none.
std::string exchange::tunnel_cause(const tunnel::pipe_end& up, const tunnel::pipe_end& down) const {
    const auto aborted = asio::error::operation_aborted;
    if (up.error == asio::error::timed_out || down.error == asio::error::timed_out)
        return causes::tunnel_idle(settings().tunnel_idle_timeout);
    const tunnel::pipe_end* first = up.error && up.error != aborted ? &up : nullptr;
    if (!first && down.error && down.error != aborted) first = &down;
    if (!first) return {};
    const bool client_side = (first == &up) != first->writing;
    return fmt::format("ferry: tunnel closed: {} side: {}", client_side ? "client" : "origin",
                       first->error.message());
}

asio::awaitable<next> exchange::relay_tunnel(const http::authority* connect) {
    // Bytes the client sent after its request head are already in in_, bytes the origin sent
    // after its 101 head in the upstream buffer: each side's go first.
    tunnel::pipe_state state{ctx_.now(), false};
    auto& metrics = ctx_.metrics();
    observe::bump(metrics.tunnels);
    observe::bump(metrics.tunnels_total);
    tunnel::pipe_end up, down;
    const auto sent_before = client_.stream.sent;
    // The origin's direction runs as a coroutine of its own, the client's in this one, and
    // this one waits for the other before it goes on. Not awaitable_operators' &&: its
    // parallel group costs a frame, a second spawned coroutine and a shared state, ~1.1 KB for
    // as long as the tunnel lasts (issue 17: an idle tunnel's memory).
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer other_done(executor, asio::steady_timer::time_point::max());
    bool other_finished = false;
    std::exception_ptr other_failure;
    asio::co_spawn(executor, tunnel_direction(false, state, down, connect),
                   [&](std::exception_ptr e) {
                       if (e && !state.stop) { // a bug: end this direction too
                           state.stop = true;
                           client_.stream.reading.cancel();
                           client_.upstream->stream->writing.cancel();
                       }
                       other_failure = e;
                       other_finished = true;
                       other_done.cancel();
                   });
    co_await tunnel_direction(true, state, up, connect);
    boost::system::error_code woken; // operation_aborted: the other direction ended
    while (!other_finished)
        co_await other_done.async_wait(asio::redirect_error(asio::use_awaitable, woken));
    if (other_failure) std::rethrow_exception(other_failure);
    observe::decrement(metrics.tunnels);
    // From the client: what ferry received of it (sent on or not); to the client: what its
    // socket accepted (the log phase counts it for the whole exchange).
    rec_.bytes_from_client += up.received;
    rec_.body_bytes = client_.stream.sent - sent_before;
    if (rec_.tunnel_refused) {
        // Both sides learn at once (a TCP reset; RST_STREAM on an HTTP/2 stream): the refused
        // bytes were never sent, and the client must not take the end for a clean one.
        client_.stream.abort();
        client_.upstream->stream->abort();
    } else {
        rec_.cause = tunnel_cause(up, down);
    }
    drop_upstream();
    co_return next::close;
}

// The client's first bytes: read (never spliced) and fed to the hello reader until it has a
// verdict. Held in the client's buffer until judged when hold_first_bytes says so, else
// written on as they arrive. The origin's direction runs meanwhile (server-speaks-first
// protocols), and the same idle rule as tunnel::pipe applies; a hello held half-way for the
// idle timeout is refused. A refusal stops both directions; relay_tunnel closes both sides.
asio::awaitable<bool> exchange::peek_first_bytes(const http::authority& connect,
                                                 tunnel::pipe_state& state, tunnel::pipe_end& end) {
    const auto& cfg = settings();
    const auto idle = cfg.tunnel_idle_timeout;
    const bool hold = hold_first_bytes(cfg.tunnel_sni, cfg.acl);
    auto in = client_in();
    if (hold) in.buffer_limit = std::max(in.buffer_limit, peek_hold_limit);
    auto out = upstream_out();
    tls::client_hello_reader reader;
    std::size_t fed = 0;         // bytes at the buffer's front the reader has seen
    net::steady_time held_since; // the first held byte's arrival
    bool ended = false;          // the client ended its stream
    std::optional<peek_refusal> refused;
    end.received += in.buffer.size(); // sent behind the CONNECT head
    while (reader.verdict() == tls::hello_verdict::need_more && !ended && !refused) {
        if (fed == in.buffer.size()) {
            auto timeout = idle;
            if (hold && fed > 0) // the hold's bound: the idle timeout from its first byte
                timeout = std::max(std::chrono::milliseconds(1),
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       held_since + idle - in.now()));
            std::size_t got = 0;
            const auto ec = co_await net::read_some(in, timeout, got);
            end.received += got;
            if (state.stop) {
                end.error = asio::error::operation_aborted;
                co_return false;
            }
            if (ec == asio::error::timed_out && hold && fed > 0 && in.now() - held_since >= idle) {
                refused = peek_refusal{observe::tunnel_refusal::unreadable,
                                       fmt::format("ferry: tunnel refused: the client's TLS "
                                                   "hello was incomplete after {}s",
                                                   idle.count() / 1000.0)};
                break;
            }
            if (ec == asio::error::timed_out && in.now() - state.last_activity < idle) continue;
            if (ec == asio::error::eof) {
                ended = true;
                reader.finish();
                break;
            }
            if (ec) {
                end.error = ec;
                co_return false;
            }
            state.last_activity = in.now();
        }
        if (fed == 0) held_since = in.now();
        const auto data = in.buffer.data();
        reader.feed(data.substr(fed));
        fed = data.size();
        if (!hold) {
            const auto ec = co_await net::write_all(out, asio::buffer(data), idle);
            in.buffer.consume(data.size());
            fed = 0;
            if (ec) {
                end.error = ec;
                end.writing = true;
                co_return false;
            }
            state.last_activity = out.now();
        }
    }
    note_first_bytes(reader);
    if (!refused && hold) refused = judge_peek(reader, connect);
    if (refused) {
        refuse_tunnel(*refused, state);
        end.error = asio::error::operation_aborted;
        co_return false;
    }
    if (!in.buffer.empty()) { // held, and passed
        const auto data = in.buffer.data();
        const auto ec = co_await net::write_all(out, asio::buffer(data), idle);
        in.buffer.consume(data.size());
        if (ec) {
            end.error = ec;
            end.writing = true;
            co_return false;
        }
        state.last_activity = out.now();
    }
    if (ended) out.sink.shutdown_send();
    // The tunnel splices from here on: an idle one need not hold a receive buffer (4 KiB of
    // the ~18 KB an idle CONNECT or SOCKS5 tunnel cost; read_some allocates it again if needed).
    in.buffer.release_if_empty();
    co_return !ended;
}

void exchange::refuse_tunnel(const peek_refusal& refused, tunnel::pipe_state& state) {
    rec_.cause = refused.cause;
    rec_.tunnel_refused = true; // relay_tunnel resets both sides once both directions stop
    observe::bump(ctx_.metrics().tunnel_tls.refusals[std::size_t(refused.reason)]);
    if (refused.reason == observe::tunnel_refusal::acl) ctx_.metrics().denied(refused.rule);
    state.stop = true;
    for (auto* d : {&client_.stream.reading, &client_.stream.writing, &up().stream->reading,
                    &up().stream->writing})
        d->cancel();
}

void exchange::note_first_bytes(const tls::client_hello_reader& reader) {
    using kind = observe::exchange_record::tunnel_tls;
    auto& counters = ctx_.metrics().tunnel_tls;
    switch (reader.verdict()) {
    case tls::hello_verdict::need_more: // the client sent nothing
        return;
    case tls::hello_verdict::not_tls:
        rec_.tunnel_bytes_kind = kind::not_tls;
        observe::bump(counters.not_tls);
        return;
    case tls::hello_verdict::malformed:
    case tls::hello_verdict::too_large: {
        const bool large = reader.verdict() == tls::hello_verdict::too_large;
        rec_.tunnel_bytes_kind = kind::tls;
        rec_.tls_unreadable = tls::verdict_name(reader.verdict());
        rec_.tls_problem = reader.problem();
        observe::bump(counters.unreadable[large ? 1 : 0]);
        return;
    }
    case tls::hello_verdict::hello:
        break;
    }
    const auto& hello = reader.hello();
    rec_.tunnel_bytes_kind = kind::tls;
    rec_.tls_sni = hello.sni;
    rec_.tls_sni_invalid = !hello.sni_valid;
    rec_.tls_alpn = fmt::format("{}", fmt::join(hello.alpn, ","));
    rec_.tls_ech = hello.ech;
    observe::bump(counters.hellos[observe::tunnel_alpn_slot(hello.alpn_present, hello.alpn)]
                                 [hello.ech ? 1 : 0]);
}

std::optional<peek_refusal> exchange::judge_peek(const tls::client_hello_reader& reader,
                                                 const http::authority& connect) const {
    if (auto r = judge_first_bytes(settings().tunnel_sni, reader, connect.host)) return r;
    if (auto r = unjudgeable_by_rules(reader, settings().acl)) return r;
    if (!sni_needs_access_check(reader, connect.host, settings().acl)) return std::nullopt;
    // The server name as the host, with the rest of the CONNECT (client, user, port, method)
    // and the address ferry connected to: CIDR rules judge where the bytes really go.
    const std::string* user = rec_.user.empty() ? nullptr : &rec_.user;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(rec_.upstream_address, ec);
    const bool direct = !ec && !rec_.upstream_parent;
    const auto verdict =
        access_verdict_at(reader.hello().sni, connect.port, user, direct ? &address : nullptr);
    return sni_access_refusal(verdict, reader.hello().sni);
}

} // namespace ferry::proxy

#include "http/relay.h"

#include "net/splice.h"

#include <array>
#include <boost/asio/buffer.hpp>
#include <cstdio>
#include <span>

namespace ferry::http {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_pieces = 32;
constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n";

using piece_list = std::array<std::string_view, max_pieces>;

// One write's worth of output: prefix, chunk header, data pieces, chunk end, terminator.
struct gather {
    std::array<asio::const_buffer, max_pieces + 6> buffers;
    std::size_t count = 0;
    std::size_t bytes = 0;
    std::size_t data_begin = 0; // where the body data starts in the write
    std::size_t data_bytes = 0; // and how much of it there is
    // Of `accepted` bytes of this write that went out, how many were body data.
    std::size_t data_in(std::uint64_t accepted) const {
        if (accepted <= data_begin) return 0;
        return std::size_t(std::min<std::uint64_t>(accepted - data_begin, data_bytes));
    }
    char chunk_header[24]; // "<hex size>\r\n"; a buffer points here, so a gather is not copied
    void add(const void* p, std::size_t n) {
        if (n == 0) return;
        buffers[count++] = asio::const_buffer(p, n);
        bytes += n;
    }
    void add(std::string_view s) { add(s.data(), s.size()); }
    auto sequence() const { return std::span<const asio::const_buffer>(buffers.data(), count); }
};

// Records a failed read or write; returns the outcome to co_return.
relay_outcome& fail(relay_outcome& result, relay_status status, net::error_code ec) {
    result.status = status;
    result.error = ec;
    return result;
}

relay_outcome& framing_failed(relay_outcome& result, const chunked_decoder& decoder) {
    result.status = relay_status::bad_framing;
    result.chunk = decoder.error();
    return result;
}

// A completion already queued when the caller cancelled cannot be undone: check.
bool stopped(const bool* stop, relay_outcome& result) {
    if (!stop || !*stop) return false;
    fail(result, relay_status::read_failed, asio::error::operation_aborted);
    return true;
}

// What one pass takes of the body from the buffered bytes.
struct body_take {
    std::size_t consumed = 0;   // buffered bytes used, chunk framing included
    std::size_t npieces = 0;    // body data, in pieces[0, npieces)
    std::size_t data_bytes = 0; // their total
    bool bad_framing = false;   // malformed chunked coding: decoder.error() says how
};

// Takes what `available` holds of a body framed as `kind`, as views into it (decoded
// data, for a chunked body), counting down `remaining` and setting `finished` at the end of
// a Content-Length or chunked body.
body_take take_body(std::string_view available, body_kind kind, std::uint64_t& remaining,
                    bool& finished, chunked_decoder& decoder, piece_list& pieces) {
    body_take took;
    switch (kind) {
    case body_kind::none:
        break;
    case body_kind::length: {
        auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining, std::uint64_t(available.size())));
        if (n) pieces[took.npieces++] = available.substr(0, n);
        took.consumed = n;
        remaining -= n;
        finished = remaining == 0;
        break;
    }
    case body_kind::until_close:
        if (!available.empty()) pieces[took.npieces++] = available;
        took.consumed = available.size();
        break;
    case body_kind::chunked:
        while (took.consumed < available.size() && took.npieces < max_pieces && !decoder.done()) {
            auto step = decoder.decode(available.substr(took.consumed));
            took.consumed += step.consumed;
            if (!step.data.empty()) pieces[took.npieces++] = step.data;
            if (decoder.failed()) {
                took.bad_framing = true;
                return took;
            }
        }
        finished = decoder.done();
        break;
    }
    for (std::size_t i = 0; i < took.npieces; ++i)
        took.data_bytes += pieces[i].size();
    return took;
}

// Lays out one pass's write in `g`: `prefix` (the head, while not yet sent), the data taken
// (as one chunk when the output is chunked) and, when a chunked or close-delimited body
// re-framed as chunked has `finished`, the last chunk with the source's trailers.
void lay_out(gather& g, std::string_view prefix, body_kind in, output_coding out, bool finished,
             const piece_list& pieces, const body_take& took, const chunked_decoder& decoder) {
    const bool chunk = out == output_coding::chunked && took.data_bytes > 0;
    g.add(prefix);
    if (chunk) {
        int n = std::snprintf(g.chunk_header, sizeof g.chunk_header, "%zx\r\n", took.data_bytes);
        g.add(g.chunk_header, std::size_t(n));
    }
    g.data_begin = g.bytes;
    g.data_bytes = took.data_bytes;
    for (std::size_t i = 0; i < took.npieces; ++i)
        g.add(pieces[i]);
    if (chunk) g.add(crlf);
    if (finished && out == output_coding::chunked && in != body_kind::none &&
        in != body_kind::length) {
        g.add(last_chunk);
        if (in == body_kind::chunked) g.add(decoder.trailers());
        g.add(crlf);
    }
}

// Whether the rest of this body goes by splice: large identity bodies between sockets that
// can take it.
bool use_splice(net::inbound from, net::outbound to, const body_framing& in, output_coding out,
                std::uint64_t remaining, const relay_timeouts& timeouts) {
    if (!timeouts.splice || out != output_coding::identity) return false;
    if (in.kind != body_kind::until_close &&
        (in.kind != body_kind::length || remaining < splice_threshold))
        return false;
    return net::can_splice(from.source) && net::can_splice(to.sink);
}

// The rest of an identity body (its buffered bytes already sent): socket → pipe → socket.
// Bytes count as read once in the pipe, and as written (body) once out of it into the sink:
// what a failed splice_out leaves in the pipe never reached the sink.
asio::awaitable<void> splice_rest(net::inbound from, net::outbound to, bool until_close,
                                  std::uint64_t remaining, relay_timeouts timeouts,
                                  const bool* stop, relay_outcome& result) {
    net::splice_pipe pipe;
    for (;;) {
        std::size_t got = 0;
        std::size_t max = net::splice_chunk(); // what a pipe holds
        if (!until_close) max = std::size_t(std::min<std::uint64_t>(remaining, max));
        auto ec = co_await net::splice_in(from, pipe, max, timeouts.read, stop, got);
        result.bytes_read += got;
        if (stopped(stop, result)) co_return;
        if (ec) {
            if (!(until_close && ec == asio::error::eof))
                fail(result, relay_status::read_failed, ec);
            co_return;
        }
        const auto before = to.sink.sent;
        ec = co_await net::splice_out(to, pipe, false, timeouts.write, stop);
        result.body_bytes += to.sink.sent - before;
        if (stopped(stop, result)) co_return;
        if (ec) {
            fail(result, relay_status::write_failed, ec);
            co_return;
        }
        if (!until_close) {
            remaining -= got;
            if (remaining == 0) co_return;
        }
    }
}

} // namespace

std::optional<std::string_view> body_at_hand(std::string_view buffered, body_framing in) {
    if (in.kind == body_kind::none) return std::string_view{};
    if (in.kind == body_kind::length && in.length <= buffered.size())
        return buffered.substr(0, static_cast<std::size_t>(in.length));
    return std::nullopt;
}

asio::awaitable<relay_outcome> relay_body(net::inbound from, net::outbound to, body_framing in,
                                          output_coding out, std::string_view prefix,
                                          relay_timeouts timeouts, chunked_decoder& decoder,
                                          const bool* stop) {
    // One coroutine frame for the whole body: the steps below that do not wait are plain
    // functions, and the waits stay here rather than in awaited sub-coroutines.
    relay_outcome result;
    // What went out is what the sink took (its `sent` count), whatever the writes attempted:
    // a write an error cut short counts its bytes that left, and the body bytes among them.
    const std::uint64_t sent_before = to.sink.sent;
    auto done = [&](relay_outcome& r) -> relay_outcome& {
        r.bytes_written = to.sink.sent - sent_before;
        return r;
    };
    if (in.kind == body_kind::chunked) decoder.reset();
    std::uint64_t remaining = in.length;
    bool finished = in.kind == body_kind::none || (in.kind == body_kind::length && remaining == 0);
    bool prefix_pending = !prefix.empty();
    piece_list pieces;

    for (;;) {
        if (prefix_pending && !finished && from.buffer.empty()) {
            // The head goes out before waiting for body bytes: a client may wait for
            // 100 Continue, and a slow origin's client should see the head early.
            auto ec = co_await net::write_all(to, asio::buffer(prefix), timeouts.write);
            if (ec) co_return done(fail(result, relay_status::write_failed, ec));
            prefix_pending = false;
        }
        if (!finished && from.buffer.empty() && !prefix_pending &&
            use_splice(from, to, in, out, remaining, timeouts)) {
            co_await splice_rest(from, to, in.kind == body_kind::until_close, remaining, timeouts,
                                 stop, result);
            co_return done(result);
        }
        if (!finished && from.buffer.empty()) {
            std::size_t got = 0;
            auto ec = co_await net::read_some(from, timeouts.read, got);
            if (stopped(stop, result)) co_return done(result);
            if (ec) {
                if (!(in.kind == body_kind::until_close && ec == asio::error::eof))
                    co_return done(fail(result, relay_status::read_failed, ec));
                finished = true;
            }
        }

        const body_take took =
            take_body(from.buffer.data(), in.kind, remaining, finished, decoder, pieces);
        if (took.bad_framing) co_return done(framing_failed(result, decoder));
        gather g;
        lay_out(g, prefix_pending ? prefix : std::string_view{}, in.kind, out, finished, pieces,
                took, decoder);
        // Taken from the source: received, whether or not the write below gets it all out
        // (consumed after it: the pieces point into the buffer).
        result.bytes_read += took.consumed;
        if (g.count > 0) {
            const auto before = to.sink.sent;
            auto ec = co_await net::write_all(to, g.sequence(), timeouts.write);
            result.body_bytes += g.data_in(to.sink.sent - before);
            if (stopped(stop, result)) co_return done(result);
            if (ec) co_return done(fail(result, relay_status::write_failed, ec));
        }
        from.buffer.consume(took.consumed);
        prefix_pending = false;
        if (finished) co_return done(result);
    }
}

} // namespace ferry::http

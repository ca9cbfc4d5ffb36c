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

// One write's worth of output: prefix, chunk header, data pieces, chunk end, terminator.
struct gather {
    std::array<asio::const_buffer, max_pieces + 6> buffers;
    std::size_t count = 0;
    std::size_t bytes = 0;
    void add(const void* p, std::size_t n) {
        if (n == 0) return;
        buffers[count++] = asio::const_buffer(p, n);
        bytes += n;
    }
    auto sequence() const { return std::span<const asio::const_buffer>(buffers.data(), count); }
};

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

// The rest of an identity body (its buffered bytes already sent): socket → pipe → socket,
// counted as the copying loop counts, a piece once written.
asio::awaitable<void> splice_rest(net::inbound from, net::outbound to, bool until_close,
                                  std::uint64_t remaining, relay_timeouts timeouts,
                                  const bool* stop, relay_outcome& result) {
    net::splice_pipe pipe;
    auto stopped = [&] {
        if (!stop || !*stop) return false;
        result.status = relay_status::read_failed;
        result.error = asio::error::operation_aborted;
        return true;
    };
    for (;;) {
        std::size_t got = 0;
        std::size_t max = net::splice_chunk(); // what a pipe holds
        if (!until_close) max = std::size_t(std::min<std::uint64_t>(remaining, max));
        auto ec = co_await net::splice_in(from, pipe, max, timeouts.read, stop, got);
        if (stopped()) co_return;
        if (ec) {
            if (!(until_close && ec == asio::error::eof)) {
                result.status = relay_status::read_failed;
                result.error = ec;
            }
            co_return;
        }
        ec = co_await net::splice_out(to, pipe, false, timeouts.write, stop);
        if (stopped()) co_return;
        if (ec) {
            result.status = relay_status::write_failed;
            result.error = ec;
            co_return;
        }
        result.body_bytes += got;
        result.bytes_read += got;
        result.bytes_written += got;
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
    relay_outcome result;
    // A completion already queued when the caller cancelled cannot be undone: check.
    auto stopped = [&] {
        if (!stop || !*stop) return false;
        result.status = relay_status::read_failed;
        result.error = asio::error::operation_aborted;
        return true;
    };
    if (in.kind == body_kind::chunked) decoder.reset();
    std::uint64_t remaining = in.length;
    bool finished = in.kind == body_kind::none || (in.kind == body_kind::length && remaining == 0);
    bool prefix_pending = !prefix.empty();
    std::array<std::string_view, max_pieces> pieces;
    char chunk_header[24];
    static constexpr std::string_view crlf = "\r\n";
    static constexpr std::string_view last_chunk = "0\r\n";

    for (;;) {
        if (prefix_pending && !finished && from.buffer.empty()) {
            // The head goes out before waiting for body bytes: a client may wait for
            // 100 Continue, and a slow origin's client should see the head early.
            auto ec = co_await net::write_all(to, asio::buffer(prefix), timeouts.write);
            if (ec) {
                result.status = relay_status::write_failed;
                result.error = ec;
                co_return result;
            }
            result.bytes_written += prefix.size();
            prefix_pending = false;
        }
        if (!finished && from.buffer.empty() && !prefix_pending &&
            use_splice(from, to, in, out, remaining, timeouts)) {
            co_await splice_rest(from, to, in.kind == body_kind::until_close, remaining, timeouts,
                                 stop, result);
            co_return result;
        }
        if (!finished && from.buffer.empty()) {
            std::size_t got = 0;
            auto ec = co_await net::read_some(from, timeouts.read, got);
            if (stopped()) co_return result;
            if (ec) {
                if (in.kind == body_kind::until_close && ec == asio::error::eof) {
                    finished = true;
                } else {
                    result.status = relay_status::read_failed;
                    result.error = ec;
                    co_return result;
                }
            }
        }

        // Take what the buffer holds of this body.
        std::size_t consumed = 0, npieces = 0, data_bytes = 0;
        auto available = from.buffer.data();
        switch (in.kind) {
        case body_kind::none:
            break;
        case body_kind::length: {
            auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(remaining, std::uint64_t(available.size())));
            if (n) pieces[npieces++] = available.substr(0, n);
            consumed = n;
            remaining -= n;
            finished = remaining == 0;
            break;
        }
        case body_kind::until_close:
            if (!available.empty()) pieces[npieces++] = available;
            consumed = available.size();
            break;
        case body_kind::chunked:
            while (consumed < available.size() && npieces < max_pieces && !decoder.done()) {
                auto step = decoder.decode(available.substr(consumed));
                consumed += step.consumed;
                if (!step.data.empty()) pieces[npieces++] = step.data;
                if (decoder.failed()) {
                    result.status = relay_status::bad_framing;
                    result.chunk = decoder.error();
                    co_return result;
                }
            }
            finished = decoder.done();
            break;
        }
        for (std::size_t i = 0; i < npieces; ++i)
            data_bytes += pieces[i].size();

        gather g;
        if (prefix_pending) g.add(prefix.data(), prefix.size());
        if (out == output_coding::chunked && data_bytes > 0) {
            int n = std::snprintf(chunk_header, sizeof chunk_header, "%zx\r\n", data_bytes);
            g.add(chunk_header, std::size_t(n));
        }
        for (std::size_t i = 0; i < npieces; ++i)
            g.add(pieces[i].data(), pieces[i].size());
        if (out == output_coding::chunked && data_bytes > 0) g.add(crlf.data(), crlf.size());
        if (finished && out == output_coding::chunked && in.kind != body_kind::none &&
            in.kind != body_kind::length) {
            g.add(last_chunk.data(), last_chunk.size());
            if (in.kind == body_kind::chunked)
                g.add(decoder.trailers().data(), decoder.trailers().size());
            g.add(crlf.data(), crlf.size());
        }

        if (g.count > 0) {
            auto ec = co_await net::write_all(to, g.sequence(), timeouts.write);
            if (stopped()) co_return result;
            if (ec) {
                result.status = relay_status::write_failed;
                result.error = ec;
                co_return result;
            }
            result.bytes_written += g.bytes;
        }
        prefix_pending = false;
        result.body_bytes += data_bytes;
        from.buffer.consume(consumed);
        result.bytes_read += consumed;
        if (finished) co_return result;
    }
}

} // namespace ferry::http

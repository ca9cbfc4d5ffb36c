// Streams one message body from one socket to another in bounded pieces: read a piece,
// write it, read again, so the slower side holds the faster one back (DESIGN: never buffer
// a relayed body). The head to send first goes out with the first piece in one write.
#pragma once

#include "http/chunked.h"
#include "http/framing.h"
#include "net/io.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ferry::http {

enum class output_coding {
    identity, // bytes as decoded (Content-Length, or close-delimited output)
    chunked,  // re-framed as chunks, trailers kept
};

enum class relay_status {
    complete,
    read_failed,  // the source closed early, reset or timed out: the message is cut short
    write_failed, // the sink went away or stalled
    bad_framing,  // malformed chunked coding from the source
};

struct relay_outcome {
    relay_status status = relay_status::complete;
    net::error_code error; // read or write error
    chunk_error chunk = chunk_error::none;
    // Counted from what the kernel accepted (the sink's `sent`), not from what was attempted:
    // when a write fails half-way, what went out before the error is counted, the rest not.
    std::uint64_t body_bytes = 0;    // decoded body bytes that went out to the sink
    std::uint64_t bytes_read = 0;    // wire bytes taken from the source (received)
    std::uint64_t bytes_written = 0; // wire bytes that went out, prefix and chunk framing included
};

struct relay_timeouts {
    std::chrono::milliseconds read;
    std::chrono::milliseconds write;
    // Move large identity bodies with splice(2), socket to socket, without copying them
    // through ferry (the `splice` setting).
    bool splice = false;
};

// Sends `prefix` (a serialised head, may be empty) and then the body framed by `in`,
// coded as `out`. Bytes already in from.buffer are used first; bytes after the body's end
// stay there. `decoder` is the caller's, reused across messages. When `*stop` turns true
// (the caller no longer wants the body) the relay ends after its current wait, as
// read_failed with operation_aborted.
//
// With timeouts.splice, an identity-coded Content-Length body of which at least
// splice_threshold bytes are left once the buffered ones are sent, or a close-delimited
// one, is spliced socket to socket; a Content-Length body never past its end, so what
// follows it stays in the socket. The outcome is the same as when copying.
inline constexpr std::uint64_t splice_threshold = 64 * 1024;

// The body, when all of it is already in `buffered` (no body, or a Content-Length body
// received with its head, as small responses are): the caller can send head and body in one
// write without relay_body (whose coroutine frame is too big to be recycled).
std::optional<std::string_view> body_at_hand(std::string_view buffered, body_framing in);

boost::asio::awaitable<relay_outcome> relay_body(net::inbound from, net::outbound to,
                                                 body_framing in, output_coding out,
                                                 std::string_view prefix, relay_timeouts timeouts,
                                                 chunked_decoder& decoder, const bool* stop);

} // namespace ferry::http

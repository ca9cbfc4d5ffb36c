#include "frontend/http2_stream.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ferry::frontend {

namespace asio = boost::asio;

h2_stream::h2_stream(h2_session& conn, std::int32_t id, const net::steady_time& clock,
                     net::deadline_list* deadlines, const asio::any_io_executor& ex,
                     std::size_t max_header_size)
    : stream(clock, deadlines), storage(max_header_size), conn_(conn), id_(id), read_wake_(ex),
      write_wake_(ex) {
    read_wake_.expires_at(net::steady_time::max());
    write_wake_.expires_at(net::steady_time::max());
}

h2_stream::~h2_stream() = default;

void h2_stream::reuse(std::int32_t id) {
    id_ = id;
    request.clear();
    head_bytes = 0;
    chunked_body = exchange_started = exchange_done_ = draining = false;
    buffer.consume(buffer.size());
    upstream.reset();
    in_.consume(in_.size());
    remote_ended_ = trailer_given_ = reset_ = closed_ = false;
    open_ = true;
    submitted_ = has_body_ = out_ended_ = end_sent_ = rst_after_end_ = false;
    length_.reset();
    framed_ = 0;
    pending_.clear();
    pending_index_ = pending_offset_ = pending_left_ = reserved_ = 0;
    spill_.clear();
    sent = 0;
    write_timed_out = false;
}

// ---- reading: the request body or the tunnel's bytes from the client ----

void h2_stream::on_data(const std::uint8_t* data, std::size_t size) {
    auto [ptr, room] = in_.prepare(size, in_.size() + size);
    const auto n = std::min(room, size);
    std::memcpy(ptr, data, n);
    in_.commit(n);
    wake_reader();
}

void h2_stream::on_remote_end() {
    remote_ended_ = true;
    wake_reader();
}

void h2_stream::consume(std::size_t n) {
    // The window opens again only for what the exchange took: the client sends no more
    // than ferry holds (flow control as back-pressure, RFC 9113 §5.2).
    if (closed_ || nghttp2_session_consume(conn_.session(), id_, n) != 0)
        nghttp2_session_consume_connection(conn_.session(), n);
    conn_.wake_writer();
}

// What the client sent, into the exchange's buffer: as it came, or as one chunk of the
// chunked coding the exchange was told of (http2_request.h), within the caller's limit
// where it leaves room for one. The window opens again by what was taken.
std::size_t h2_stream::take_received(net::byte_buffer& into, std::size_t limit) {
    const auto avail = in_.data();
    if (!chunked_body) {
        auto [ptr, room] = into.prepare(std::min<std::size_t>(avail.size(), 4096), limit);
        const auto n = std::min(room, avail.size());
        std::memcpy(ptr, avail.data(), n);
        into.commit(n);
        in_.consume(n);
        consume(n);
        return n;
    }
    const auto n = std::min(avail.size(), limit > into.size() + 32 ? limit - into.size() - 32
                                                                   : std::size_t(4096));
    char line[24];
    auto r = std::to_chars(line, line + 16, n, 16);
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    const auto head = std::size_t(r.ptr - line);
    auto [ptr, room] = into.prepare(head + n + 2, into.size() + head + n + 2);
    std::memcpy(ptr, line, head);
    std::memcpy(ptr + head, avail.data(), n);
    std::memcpy(ptr + head + n, "\r\n", 2);
    into.commit(head + n + 2);
    in_.consume(n);
    consume(n);
    return head + n + 2;
}

asio::awaitable<net::error_code> h2_stream::read_some(net::byte_buffer& into, std::size_t limit,
                                                      net::milliseconds timeout, std::size_t& got) {
    got = 0;
    reading.arm(now(), timeout);
    net::error_code ec;
    for (;;) {
        if (!open_) {
            ec = asio::error::operation_aborted;
            break;
        }
        if (!in_.empty()) {
            got = take_received(into, limit);
            break;
        }
        if (reset_) {
            ec = asio::error::connection_reset;
            break;
        }
        if (remote_ended_) {
            if (chunked_body && !trailer_given_) {
                trailer_given_ = true;
                auto [ptr, room] = into.prepare(5, into.size() + 5);
                std::memcpy(ptr, "0\r\n\r\n", 5);
                into.commit(5);
                got = 5;
                break;
            }
            ec = asio::error::eof;
            break;
        }
        const auto signals = read_signals_;
        auto [wec] = co_await read_wake_.async_wait(reading.bind());
        if (reading.expired) {
            ec = asio::error::timed_out;
            break;
        }
        // A wake-up cancels the timer and counts; a cancel through the deadline (someone
        // gave up on this read) does not count, and ends the read.
        if (wec == asio::error::operation_aborted && signals == read_signals_) {
            ec = asio::error::operation_aborted;
            break;
        }
    }
    reading.disarm();
    co_return ec;
}

// ---- writing: the response body or the tunnel's bytes to the client ----

asio::awaitable<net::error_code> h2_stream::write(std::span<const asio::const_buffer> data,
                                                  net::milliseconds timeout) {
    if (reset_) co_return asio::error::connection_reset;
    std::size_t total = 0;
    for (const auto& b : data)
        total += b.size();
    // An answer's head went as HEADERS when it was submitted: its HTTP/1 bytes are none.
    if (total == 0) {
        conn_.wake_writer();
        co_return net::error_code{};
    }
    if (!open_ || out_ended_ || !has_body_) co_return asio::error::broken_pipe;
    pending_.clear();
    for (const auto& b : data)
        if (b.size() > 0) pending_.push_back(b);
    pending_index_ = pending_offset_ = 0;
    pending_left_ = total;
    nghttp2_session_resume_data(conn_.session(), id_);
    conn_.wake_writer();
    writing.arm(now(), timeout);
    net::error_code ec;
    while (pending_left_ > 0) {
        if (reset_) {
            ec = asio::error::connection_reset;
            break;
        }
        const auto signals = write_signals_;
        auto [wec] = co_await write_wake_.async_wait(writing.bind());
        if (writing.expired) {
            ec = asio::error::timed_out;
            write_timed_out = true;
            break;
        }
        if (wec == asio::error::operation_aborted && signals == write_signals_) {
            ec = asio::error::operation_aborted;
            break;
        }
    }
    writing.disarm();
    sent += total - pending_left_;
    stop_writing();
    co_return ec;
}

void h2_stream::stop_writing() {
    if (reserved_ > 0 && pending_left_ > 0) {
        // nghttp2 was promised these bytes for a frame it has not built yet: they are kept.
        spill_.clear();
        std::size_t want = std::min(reserved_, pending_left_);
        while (want > 0) {
            const auto& b = pending_[pending_index_];
            const auto n = std::min(want, b.size() - pending_offset_);
            spill_.append(static_cast<const char*>(b.data()) + pending_offset_, n);
            want -= n;
            pending_offset_ += n;
            if (pending_offset_ == b.size()) {
                ++pending_index_;
                pending_offset_ = 0;
            }
        }
        pending_.assign(1, asio::buffer(spill_));
        pending_index_ = pending_offset_ = 0;
        pending_left_ = spill_.size();
        return;
    }
    pending_.clear();
    pending_index_ = pending_offset_ = 0;
    pending_left_ = 0;
}

ssize_t h2_stream::next_data(std::size_t max, std::uint32_t& flags) {
    const auto available = pending_left_ - std::min(pending_left_, reserved_);
    if (available == 0) {
        if (out_ended_ && reserved_ == 0) {
            flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        return NGHTTP2_ERR_DEFERRED;
    }
    auto n = std::min(max, available);
    if (length_) n = std::size_t(std::min<std::uint64_t>(n, *length_ - framed_ - reserved_));
    reserved_ += n;
    flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (length_ && framed_ + reserved_ == *length_) {
        out_ended_ = true;
        flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (out_ended_ && n == available) {
        flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return ssize_t(n);
}

void h2_stream::take_data(std::uint8_t* to, std::size_t n) {
    reserved_ -= std::min(reserved_, n);
    framed_ += n;
    while (n > 0 && pending_index_ < pending_.size()) {
        const auto& b = pending_[pending_index_];
        const auto take = std::min(n, b.size() - pending_offset_);
        std::memcpy(to, static_cast<const char*>(b.data()) + pending_offset_, take);
        to += take;
        n -= take;
        pending_left_ -= take;
        pending_offset_ += take;
        if (pending_offset_ == b.size()) {
            ++pending_index_;
            pending_offset_ = 0;
        }
    }
    if (pending_left_ == 0) wake_writes();
}

void h2_stream::shutdown_send() {
    if (out_ended_ || !has_body_ || closed_) return;
    out_ended_ = true;
    nghttp2_session_resume_data(conn_.session(), id_);
    conn_.wake_writer();
}

void h2_stream::reset(std::uint32_t code) {
    if (!closed_ && !reset_)
        nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, code);
    reset_ = true;
    conn_.wake_writer();
    wake_reader();
    wake_writes();
}

void h2_stream::close() {
    if (!open_) return;
    // A stream whose end went out is complete; any other is cut, and the client must know.
    if (!end_sent_ && !(out_ended_ && reserved_ == 0 && pending_left_ == 0)) reset(NGHTTP2_CANCEL);
    open_ = false;
    wake_reader();
    wake_writes();
}

void h2_stream::on_closed(std::uint32_t error_code) {
    closed_ = true;
    // Closed before both sides ended cleanly: the client reset it, or an error did.
    const bool clean = error_code == NGHTTP2_NO_ERROR && end_sent_ && remote_ended_;
    if (!clean) abandon();
    wake_reader();
    wake_writes();
}

void h2_stream::on_end_sent() {
    end_sent_ = true;
    if (rst_after_end_ && !remote_ended_ && !closed_)
        nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
}

void h2_stream::abandon() {
    reset_ = true;
    wake_reader();
    wake_writes();
    // The exchange may be waiting on its origin: that wait ends too, so that a stream the
    // client gave up on costs nothing more (rapid reset, CVE-2023-44487).
    if (upstream && upstream->stream) {
        upstream->stream->reading.cancel();
        upstream->stream->writing.cancel();
    }
}

void h2_stream::finish(bool complete, bool tunnel) {
    exchange_done_ = true;
    if (closed_ || reset_) return;
    if (!submitted_) {
        reset(NGHTTP2_INTERNAL_ERROR);
        return;
    }
    const bool whole = !length_ || framed_ + reserved_ + pending_left_ >= *length_;
    if (!complete || !whole) {
        // A cut tunnel is a CONNECT_ERROR (RFC 9113 §8.5); a cut response, ferry's error.
        if (!end_sent_) reset(tunnel ? NGHTTP2_CONNECT_ERROR : NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (has_body_ && !out_ended_) {
        out_ended_ = true;
        nghttp2_session_resume_data(conn_.session(), id_);
    }
    // The client is still sending a body nobody will read: after the response, it is told
    // to stop (RFC 9113 §8.1). A tunnel's client side ends by itself.
    if (!remote_ended_ && !tunnel) {
        rst_after_end_ = true;
        if (end_sent_)
            nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
    }
    conn_.wake_writer();
}

// ---- answers, as frames ----

namespace {

ssize_t read_source(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t length,
                    std::uint32_t* flags, nghttp2_data_source* source, void*) {
    return static_cast<h2_stream*>(source->ptr)->next_data(length, *flags);
}

} // namespace

void h2_stream::submit_response(std::vector<nghttp2_nv>& head, bool end,
                                std::optional<std::uint64_t> length) {
    submitted_ = true;
    length_ = length;
    if (end) {
        out_ended_ = true;
        nghttp2_submit_response(conn_.session(), id_, head.data(), head.size(), nullptr);
    } else {
        has_body_ = true;
        nghttp2_data_provider provider{};
        provider.source.ptr = this;
        provider.read_callback = read_source;
        nghttp2_submit_response(conn_.session(), id_, head.data(), head.size(), &provider);
    }
    conn_.wake_writer();
}

void h2_stream::submit_interim(std::vector<nghttp2_nv>& head) {
    nghttp2_submit_headers(conn_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, head.data(),
                           head.size(), nullptr);
    conn_.wake_writer();
}

} // namespace ferry::frontend

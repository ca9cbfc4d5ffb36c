// One HTTP/2 stream as its exchange sees it: a net::stream whose reads are the stream's DATA
// (the request body, or a tunnel's bytes) and whose writes become DATA, under HTTP/2 flow
// control both ways; and the client_protocol that submits a HEADERS frame for each answer.
// The connection (frontend/http2.h) owns it, feeds it from nghttp2's callbacks and frames
// what it holds; its exchange owns nothing of the connection.
//
// Memory: what a client sent and the exchange has not read is at most the stream's receive
// window (http2_stream_window), as ferry tells nghttp2 a byte is consumed only once the
// exchange read it. What the exchange writes is not copied here: a write waits until
// nghttp2 has framed all of it into the connection's output, so a client that reads slowly
// (a small or zero window) holds back its own stream's origin and no other.
#pragma once

#include "frontend/http2_request.h"
#include "net/byte_buffer.h"
#include "net/stream.h"
#include "proxy/client_protocol.h"
#include "proxy/exchange.h"
#include "upstream/connection.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::frontend {

class h2_stream;

// Where an answer's head is built (frontend/http2_stream.cpp's head_builder): kept with the
// stream, so a recycled stream allocates nothing for the next head.
struct h2_head_scratch {
    std::string text;
    std::vector<std::array<std::uint32_t, 4>> at; // name offset, size, value offset, size
    std::vector<nghttp2_nv> nv;
};

// What a stream needs of its connection.
class h2_session {
public:
    virtual ~h2_session() = default;
    virtual nghttp2_session* session() = 0;
    // Something for nghttp2 to send: the writer runs.
    virtual void wake_writer() = 0;
};

class h2_stream final : public net::stream {
public:
    h2_stream(h2_session& conn, std::int32_t id, const net::steady_time& clock,
              net::deadline_list* deadlines, const boost::asio::any_io_executor& ex,
              std::size_t max_header_size);
    ~h2_stream() override;

    // net::stream
    boost::asio::awaitable<net::error_code> read_some(net::byte_buffer& into, std::size_t limit,
                                                      net::milliseconds timeout,
                                                      std::size_t& got) override;
    boost::asio::awaitable<net::error_code> write(std::span<const boost::asio::const_buffer> data,
                                                  net::milliseconds timeout) override;
    using stream::write;
    void shutdown_send() override; // END_STREAM once what was written is framed
    void close() override;         // RST_STREAM(CANCEL) unless the stream ended
    void abort() override { close(); }
    bool is_open() const override { return open_ && !reset_; }

    // From nghttp2's callbacks, through the connection.
    void on_data(const std::uint8_t* data, std::size_t size);
    void on_remote_end();
    // nghttp2 closed the stream (both sides ended, or a reset either way).
    void on_closed(std::uint32_t error_code);
    // The data source: how many bytes the next DATA frame may carry (NGHTTP2_ERR_DEFERRED
    // when nothing is written yet), with NGHTTP2_DATA_FLAG_EOF when they end the body.
    ssize_t next_data(std::size_t max, std::uint32_t& flags);
    // Copies the next `n` bytes written into `to`.
    void take_data(std::uint8_t* to, std::size_t n);
    // A frame ending the stream went out.
    void on_end_sent();

    // Answers, from the stream's client_protocol.
    // A final response head; the body follows by write() unless `end`. `length`: the body's
    // size when known, after which the stream ends by itself.
    void submit_response(std::vector<nghttp2_nv>& head, bool end,
                         std::optional<std::uint64_t> length);
    void submit_interim(std::vector<nghttp2_nv>& head);

    // The exchange ended: END_STREAM when its response is complete and nothing marked the
    // end yet, RST_STREAM otherwise; and RST_STREAM(NO_ERROR) after the end when the client
    // is still sending a body nobody will read (RFC 9113 §8.1).
    void finish(bool complete, bool tunnel);
    // The connection is going away: waits end, the upstream side is cancelled.
    void abandon();

    std::int32_t id() const { return id_; }
    bool closed() const { return closed_; }
    bool exchange_done() const { return exchange_done_; }
    bool remote_ended() const { return remote_ended_; }

    h2_request request;         // the header block, as it arrives
    std::size_t head_bytes = 0; // HEADERS and CONTINUATION payload bytes
    bool chunked_body = false;  // present the body in chunked coding (http2_request.h)
    bool exchange_started = false;
    bool exchange_done_ = false;
    // What the exchange borrows: its storage, its buffer, its upstream slot.
    proxy::exchange_storage storage;
    net::byte_buffer buffer{4096};
    std::unique_ptr<upstream::connection> upstream;
    bool draining = false;
    h2_head_scratch scratch;

    // For the next stream of the same connection: every per-stream state back to a new
    // stream's, capacity kept (storage, buffers, scratch).
    void reuse(std::int32_t id);

private:
    void wake_reader() {
        ++read_signals_;
        read_wake_.cancel();
    }
    void wake_writes() {
        ++write_signals_;
        write_wake_.cancel();
    }
    // A write ends (done or not): what nghttp2 reserved of it but has not framed is kept.
    void stop_writing();
    void reset(std::uint32_t code);
    void consume(std::size_t n);
    std::size_t take_received(net::byte_buffer& into, std::size_t limit);

    h2_session& conn_;
    std::int32_t id_;
    net::byte_buffer in_{16 * 1024}; // DATA received, not yet read
    bool remote_ended_ = false;
    bool trailer_given_ = false; // the last chunk of a chunked body was read
    bool open_ = true;
    bool reset_ = false;  // reset by either side: reads and writes fail
    bool closed_ = false; // nghttp2 forgot the stream

    bool submitted_ = false; // a final response (or 200 for a tunnel) is on its way
    bool has_body_ = false;  // it has a data source
    bool out_ended_ = false; // no more bytes: the data source says EOF when drained
    bool end_sent_ = false;
    bool rst_after_end_ = false;
    std::optional<std::uint64_t> length_;
    std::uint64_t framed_ = 0; // body bytes framed so far

    // The write in progress: its buffers, the one being framed and how far.
    std::vector<boost::asio::const_buffer> pending_;
    std::size_t pending_index_ = 0;
    std::size_t pending_offset_ = 0;
    std::size_t pending_left_ = 0;
    std::size_t reserved_ = 0; // promised to nghttp2 by next_data, not yet taken
    std::string spill_;        // reserved bytes of a write that ended before they were taken
    std::uint64_t write_signals_ = 0;
    std::uint64_t read_signals_ = 0;
    boost::asio::steady_timer read_wake_;
    boost::asio::steady_timer write_wake_;
};

// How an exchange's answers go out on its stream (one per stream).
class h2_answers final : public proxy::client_protocol {
public:
    explicit h2_answers(h2_stream& s) : stream_(s) {}
    http::response_plan response_head(const http::request_head& request,
                                      const http::response_head& response,
                                      const http::body_framing& in,
                                      const proxy::answer_context& ctx,
                                      std::string& out) const override;
    bool interim_head(const http::request_head& request, const http::response_head& response,
                      std::string_view pseudonym, std::string& out) const override;
    void switch_head(const http::response_head& response, std::string_view pseudonym,
                     std::string& out) const override;
    void tunnel_established(const boost::asio::ip::tcp::endpoint& bound,
                            std::string& out) const override;
    bool local_reply(const http::request_head& request, const http::local_reply& reply,
                     const proxy::answer_context& ctx, std::string& out) const override;

private:
    h2_stream& stream_;
};

} // namespace ferry::frontend

// The HTTP/2 connection behind frontend/http2.h, declared for its two source files:
// http2.cpp (its life: session, loops, drain, streams' exchanges) and http2_callbacks.cpp
// (what nghttp2 calls back). Not for other front ends.
#pragma once

#include "frontend/host.h"
#include "frontend/http2_stream.h"
#include "net/byte_buffer.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ferry::frontend {

namespace h2 {

// What nghttp2 frames waits here until written; past this, it waits in nghttp2's queues
// (HEADERS, control frames) or in the exchanges' own buffers (DATA, framed only on demand).
inline constexpr std::size_t out_limit = 64 * 1024;
// The reading loop looks up this often: an idle connection, a reload, a drain.
inline constexpr std::chrono::milliseconds tick{1000};
// Frames that do no work for ferry (PING, SETTINGS after the first, PRIORITY, empty DATA,
// streams reset or refused, invalid frames) are "glitches", as HAProxy calls them: a leaky
// bucket per connection; past its size the client is told ENHANCE_YOUR_CALM and dropped.
inline constexpr double glitch_limit = 1000;
inline constexpr double glitch_leak_per_second = 100;
// Ended streams a connection keeps for its next ones (each holds a few KiB of capacity);
// an idle connection gives them back.
inline constexpr std::size_t spare_streams = 16;

// nghttp2's allocations, counted: what an idle connection holds is a metric.
struct counted_memory {
    std::size_t bytes = 0;
};
} // namespace h2

class http2_connection final : public net::drainable, public h2_session {
public:
    http2_connection(host& h, std::unique_ptr<net::stream> client,
                     const boost::asio::ip::tcp::endpoint& peer, std::uint64_t id,
                     std::string identity, const boost::asio::any_io_executor& ex);
    ~http2_connection() override;

    boost::asio::awaitable<void> run(std::string received);
    void drain() override;
    void force_close() override;
    nghttp2_session* session() override { return session_; }
    void wake_writer() override { writer_wake_.cancel(); }

private:
    bool start_session();
    boost::asio::awaitable<void> read_loop(std::string received);
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> serve_stream(h2_stream* s);
    bool feed(std::string_view bytes);
    void on_tick();
    void begin_drain();
    void glitch();
    void calm_down();
    void abandon_all();
    void note_idle();
    void forget(h2_stream* s);
    h2_stream* stream(std::int32_t id) {
        return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session_, id));
    }
    const config::settings& cfg() const { return *settings_; }
    observe::http2_counters& counters() { return host_.metrics().http2; }

    // nghttp2's callbacks (user_data is the connection).
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* self);
    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t flags, void* self);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* self);
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id,
                             const std::uint8_t* data, std::size_t size, void* self);
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* self);
    static int on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* self);
    static int on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int, void* self);
    static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t size, int,
                           void* self);
    static int on_send_data(nghttp2_session*, nghttp2_frame* f, const std::uint8_t* head,
                            std::size_t size, nghttp2_data_source* source, void* self);

    host& host_;
    std::shared_ptr<const config::settings> settings_;
    std::unique_ptr<net::stream> transport_;
    boost::asio::ip::tcp::endpoint peer_;
    std::string label_;
    std::string identity_;
    std::uint64_t id_;
    boost::asio::any_io_executor ex_;
    h2::counted_memory memory_;
    nghttp2_session* session_ = nullptr;
    std::unordered_map<std::int32_t, std::unique_ptr<h2_stream>> streams_;
    std::vector<std::unique_ptr<h2_stream>> spare_; // ended streams, to be used again
    std::size_t exchanges_ = 0; // running now (a closed stream's may still be logging)
    boost::asio::steady_timer writer_wake_;
    boost::asio::steady_timer done_wake_;
    net::byte_buffer in_{16 * 1024};
    std::string out_;
    bool reader_done_ = false;
    bool dead_ = false; // the transport failed or was closed: nothing more is sent
    bool draining_ = false;
    bool calmed_ = false;
    int settings_frames_ = 0;
    double glitches_ = 0;
    net::steady_time glitch_at_{};
    net::steady_time idle_since_{};
    std::size_t idle_bytes_ = 0; // counted in the metrics while idle, else 0
};

} // namespace ferry::frontend

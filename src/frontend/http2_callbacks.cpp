// What nghttp2 calls back for one HTTP/2 connection (frontend/http2_connection.h): streams
// begin and end, header fields and DATA arrive, frames go out and are counted, abuse is
// counted as glitches. Each callback's user data is the connection.
#include "frontend/http2_connection.h"
#include "observe/counter.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace ferry::frontend {

namespace asio = boost::asio;

int http2_connection::on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    // nghttp2 refuses streams past the announced limit itself. Streams it closed whose
    // exchanges still run (a response's last DATA goes out before its exchange has logged;
    // a client reset one) count here: up to the limit again, then the work a client can
    // start is refused, however fast it resets streams (rapid reset, CVE-2023-44487).
    if (c.streams_.size() >= 2 * c.cfg().http2.max_concurrent_streams || c.calmed_) {
        nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, f->hd.stream_id,
                                  NGHTTP2_REFUSED_STREAM);
        c.glitch();
        return 0;
    }
    std::unique_ptr<h2_stream> s;
    if (!c.spare_.empty()) {
        s = std::move(c.spare_.back());
        c.spare_.pop_back();
        s->reuse(f->hd.stream_id);
    } else {
        s = std::make_unique<h2_stream>(c, f->hd.stream_id, c.host_.now(), &c.host_.deadlines(),
                                        c.ex_, c.cfg().max_header_size);
    }
    nghttp2_session_set_stream_user_data(c.session_, f->hd.stream_id, s.get());
    c.streams_.emplace(f->hd.stream_id, std::move(s));
    observe::bump(c.counters().streams);
    observe::bump(c.counters().streams_total);
    return 0;
}

int http2_connection::on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                                std::size_t namelen, const std::uint8_t* value,
                                std::size_t valuelen, std::uint8_t, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    auto* s = c.stream(f->hd.stream_id);
    if (!s || f->hd.type != NGHTTP2_HEADERS) return 0;
    const auto limit = c.cfg().http2.max_header_list_size;
    if (f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        s->request.decoded_size += namelen + valuelen + 32; // trailers: counted, not kept
    } else {
        s->request.add({reinterpret_cast<const char*>(name), namelen},
                       {reinterpret_cast<const char*>(value), valuelen}, limit);
    }
    // Far past the limit: an HPACK bomb (a few bytes that decode to megabytes).
    if (s->request.decoded_size > 4 * limit) {
        c.calm_down();
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

int http2_connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    const bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (f->hd.type) {
    case NGHTTP2_HEADERS: {
        auto* s = c.stream(f->hd.stream_id);
        if (!s) break;
        s->head_bytes += f->hd.length + 9;
        if (end) s->on_remote_end();
        if (f->headers.cat == NGHTTP2_HCAT_REQUEST && !s->exchange_started) {
            s->exchange_started = true;
            ++c.exchanges_;
            asio::co_spawn(c.ex_, c.serve_stream(s), asio::detached);
        }
        break;
    }
    case NGHTTP2_DATA:
        if (auto* s = c.stream(f->hd.stream_id); s && end) s->on_remote_end();
        if (f->hd.length == 0 && !end) c.glitch();
        break;
    case NGHTTP2_SETTINGS:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK) && c.settings_frames_++ > 0) c.glitch();
        break;
    case NGHTTP2_PING:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) c.glitch();
        break;
    case NGHTTP2_PRIORITY:
        c.glitch();
        break;
    case NGHTTP2_RST_STREAM: {
        observe::bump(c.counters().resets[0][observe::http2_error_slot(f->rst_stream.error_code)]);
        auto* s = c.stream(f->hd.stream_id);
        if (s && !s->exchange_done()) c.glitch(); // work started and thrown away
        break;
    }
    case NGHTTP2_GOAWAY:
        observe::bump(c.counters().goaways[0][observe::http2_error_slot(f->goaway.error_code)]);
        break;
    default:
        break;
    }
    return 0;
}

int http2_connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                                    const std::uint8_t* data, std::size_t size, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    auto* s = c.stream(id);
    if (s && !s->exchange_done()) {
        s->on_data(data, size);
        return 0;
    }
    // Nobody reads it: the window opens again at once.
    if (nghttp2_session_consume(session, id, size) != 0)
        nghttp2_session_consume_connection(session, size);
    return 0;
}

int http2_connection::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code,
                                      void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    auto* s = it->second.get();
    s->on_closed(code);
    c.forget(s);
    return 0;
}

int http2_connection::on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    switch (f->hd.type) {
    case NGHTTP2_DATA:
    case NGHTTP2_HEADERS:
        if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
            if (auto* s = c.stream(f->hd.stream_id)) s->on_end_sent();
        break;
    case NGHTTP2_RST_STREAM:
        observe::bump(c.counters().resets[1][observe::http2_error_slot(f->rst_stream.error_code)]);
        break;
    case NGHTTP2_GOAWAY:
        observe::bump(c.counters().goaways[1][observe::http2_error_slot(f->goaway.error_code)]);
        break;
    default:
        break;
    }
    return 0;
}

int http2_connection::on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int, void* self) {
    static_cast<http2_connection*>(self)->glitch();
    return 0;
}

ssize_t http2_connection::on_send(nghttp2_session*, const std::uint8_t* data, std::size_t size, int,
                                  void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    if (c.out_.size() >= h2::out_limit) return NGHTTP2_ERR_WOULDBLOCK;
    c.out_.append(reinterpret_cast<const char*>(data), size);
    return ssize_t(size);
}

int http2_connection::on_send_data(nghttp2_session*, nghttp2_frame* f, const std::uint8_t* head,
                                   std::size_t size, nghttp2_data_source* source, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    if (c.out_.size() >= h2::out_limit) return NGHTTP2_ERR_WOULDBLOCK;
    c.out_.append(reinterpret_cast<const char*>(head), 9);
    const auto at = c.out_.size();
    c.out_.resize(at + size);
    static_cast<h2_stream*>(source->ptr)
        ->take_data(reinterpret_cast<std::uint8_t*>(c.out_.data() + at), size);
    (void)f; // never padded: ferry sets no padding callback
    return 0;
}

} // namespace ferry::frontend

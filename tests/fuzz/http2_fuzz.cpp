// The HTTP/2 front end as a whole: frontend::serve_http2_stream serving one end of an
// in-memory stream pair (net::memory_stream) on the unit tests' test_host — a clock that only
// moves when told, a scripted origin behind every upstream connection, no socket, no DNS —
// with the client's bytes and the origins' answers from the fuzz input. The real nghttp2
// session, h2 streams, exchanges, forward and tunnel phases run unchanged.
//
// Input: one control byte, then the client's bytes after the connection preface, then one
// origin script per upstream connection, parts separated by "\n~~~\n". Control bits:
// 1 = the preface is not added (the fuzzer's bytes are all the client sends), 2 = the
// client's bytes arrive in two writes with time passing between them, 4 = small limits
// (4 streams, a 1 KiB header list, 16 KiB stream window), 8 = every origin echoes what it
// receives (a CONNECT peer) instead of answering, 16 = the client half-closes at once
// rather than after a second.
//
// Invariants: the connection and every exchange end by themselves once the client is gone
// (time moves in 200 ms ticks; a hard stop after 10 s of it); the gauges (client
// connections, HTTP/2 connections and streams, tunnels) are back to zero; what ferry sent is
// whole HTTP/2 frames, SETTINGS first, each on a stream of the right kind (DATA, HEADERS,
// RST_STREAM, CONTINUATION on a client's odd stream; SETTINGS, PING, GOAWAY on stream 0;
// never PUSH_PROMISE); every exchange logged is on an odd stream; ferry never sends far more
// than the origins sent and the client asked for; LeakSanitizer clean.
#include "fuzz_check.h"

#include "../unit/proxy/test_host.h"

#include "config/settings.h"
#include "frontend/http2.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace {

using namespace ferry;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr std::string_view separator = "\n~~~\n";

void client_write(testing::test_host& h, net::memory_stream& end, std::string bytes) {
    asio::co_spawn(
        h.io,
        [s = &end, bytes = std::move(bytes)]() -> asio::awaitable<void> {
            co_await s->write(asio::buffer(bytes), std::chrono::hours(1));
        },
        asio::detached);
}

std::uint32_t be(const std::string& s, std::size_t at, int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i)
        v = (v << 8) | static_cast<std::uint8_t>(s[at + i]);
    return v;
}

// What ferry sent its client is a sequence of whole, well-placed frames.
void check_frames(const std::string& out) {
    std::size_t at = 0;
    bool first = true;
    while (at + 9 <= out.size()) {
        const auto length = be(out, at, 3);
        const auto type = static_cast<std::uint8_t>(out[at + 3]);
        const auto flags = static_cast<std::uint8_t>(out[at + 4]);
        const auto stream = be(out, at + 5, 4) & 0x7fffffff;
        if (first) { // RFC 9113 §3.4: the server's preface is a SETTINGS frame
            FUZZ_CHECK(type == 0x4 && stream == 0 && !(flags & 0x1));
            first = false;
        }
        FUZZ_CHECK(type <= 0x9 && type != 0x5); // known frame types; no server push
        switch (type) {
        case 0x0: // DATA
        case 0x1: // HEADERS
        case 0x3: // RST_STREAM
        case 0x9: // CONTINUATION
            FUZZ_CHECK(stream % 2 == 1);
            break;
        case 0x4: // SETTINGS
        case 0x6: // PING
        case 0x7: // GOAWAY
            FUZZ_CHECK(stream == 0);
            break;
        default:
            break;
        }
        FUZZ_CHECK(length <= 16384 || type == 0x0 || type == 0x1); // only these follow SETTINGS
        at += 9 + length;
    }
    FUZZ_CHECK(at == out.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::input in(data, size);
    const auto control = in.byte();
    std::string client(control & 1 ? "" : frontend::h2_preface);
    client.append(in.until(separator));
    std::vector<std::string> scripts;
    for (auto rest = in.rest(); !rest.empty() && scripts.size() < 8;) {
        const auto at = rest.find(separator);
        scripts.emplace_back(rest.substr(0, at));
        rest =
            at == std::string_view::npos ? std::string_view() : rest.substr(at + separator.size());
    }

    config::settings s;
    s.access_log = "off";
    s.header_timeout = 100ms;
    s.idle_timeout = 100ms;
    s.connect_timeout = 100ms;
    s.connect_attempt_timeout = 100ms;
    s.response_timeout = 100ms;
    s.send_timeout = 100ms;
    s.shutdown_timeout = 100ms;
    s.tunnel_idle_timeout = 100ms;
    s.connect_ports = {443, 8080};
    if (control & 4) {
        s.http2.max_concurrent_streams = 4;
        s.http2.max_header_list_size = 1024;
        s.http2.stream_window = 16384;
    }

    std::string out;
    std::size_t origin_bytes = 0;
    {
        testing::test_host h(s);
        for (const auto& script : scripts) {
            testing::origin_script o;
            o.answers.push_back(script);
            o.close_after = true;
            o.tunnel_echo = control & 8;
            origin_bytes += script.size();
            h.origins.push_back(std::move(o));
        }
        auto [ours, ferrys] = net::memory_stream::pair(h.io, h.now(), &h.deadlines());
        auto done = std::make_shared<bool>(false);
        asio::co_spawn(
            h.io,
            frontend::serve_http2_stream(h, std::move(ferrys),
                                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 40000),
                                         h.next_connection_id(), "", ""),
            [done](std::exception_ptr) { *done = true; });

        if (control & 2) {
            const auto half = client.size() / 2;
            client_write(h, *ours, client.substr(0, half));
            h.advance(200ms);
            out += ours->take_received();
            client_write(h, *ours, client.substr(half));
        } else {
            client_write(h, *ours, client);
        }
        h.settle();
        out += ours->take_received();
        if (!(control & 16)) {
            h.advance(1000ms);
            out += ours->take_received();
        }
        ours->shutdown_send();
        for (int tick = 0; tick < 50 && !*done; ++tick) {
            h.advance(200ms);
            out += ours->take_received();
        }
        // The client is gone: everything ferry started has ended by itself.
        FUZZ_CHECK(*done);
        out += ours->take_received();
        FUZZ_CHECK(h.open_connections() == 0);
        auto& m = h.metrics();
        FUZZ_CHECK(m.client_connections.load() == 0);
        FUZZ_CHECK(m.http2.connections.load() == 0);
        FUZZ_CHECK(m.http2.streams.load() == 0);
        FUZZ_CHECK(m.tunnels.load() == 0);
        for (const auto& r : h.records)
            FUZZ_CHECK(r.stream % 2 == 1);
        // ferry's own answers (error pages naming a cause, HEADERS) are bounded per exchange
        // and per byte the client sent; the rest is what the origins sent.
        FUZZ_CHECK(out.size() <=
                   2 * origin_bytes + 64 * client.size() + 8192 * h.records.size() + 4096);
    }
    check_frames(out);
    return 0;
}

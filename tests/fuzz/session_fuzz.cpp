// A whole client session: ferry's worker and session code serving a client over one end of
// a socketpair, forwarding to a scripted origin on 127.0.0.1 inside this process, both
// sides' bytes from the fuzz input.
//
// Input: one control byte, then the client's bytes, then one origin script per upstream
// connection, parts separated by "\n~~~\n". "ORIGIN" in the client's bytes becomes the
// origin's "127.0.0.1:port". Control bits: 1 = every request goes through the origin as a
// parent proxy (so any host reaches it, no DNS), 2 = splice on, 4 = the client sends its
// bytes in two writes.
//
// The connection runs as frontend::resume (what the worker runs for a connection that comes
// back from parking): serve_client asks the socket for its peer, which an AF_UNIX socket
// cannot answer as TCP, and resume_client takes the peer (127.0.0.1) as an argument.
//
// The client writes its bytes, half-closes and reads until ferry closes; each origin
// connection reads once, sends its script, half-closes and reads until ferry closes. With
// every timeout short and a hard stop after a second, an iteration takes milliseconds.
// Invariants: the session ends; ferry never sends its client more than the origin sent
// (re-chunked at worst) plus its own heads and error pages; no leak (LeakSanitizer).
#include "fuzz_check.h"

#include "app/worker.h"
#include "config/settings.h"
#include "frontend/http1.h"
#include "observe/log_sink.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace ferry;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr std::string_view separator = "\n~~~\n";

// The origin's listening socket, bound once per process (the port stays the same).
struct origin_listener {
    int fd = -1;
    std::uint16_t port = 0;

    origin_listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        FUZZ_CHECK(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        FUZZ_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        FUZZ_CHECK(::listen(fd, 64) == 0);
        socklen_t len = sizeof a;
        FUZZ_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port = ntohs(a.sin_port);
    }

    // Connections left from an earlier iteration (their ferry side is gone) are dropped.
    void flush_backlog() const {
        for (int i = 0; i < 256; ++i) {
            int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) break;
            ::close(c);
        }
    }
};

struct totals {
    std::size_t origin_sent = 0;
    std::size_t client_received = 0;
    bool client_done = false;
};

asio::awaitable<void> drain_until_eof(tcp::socket& s, std::size_t* counted) {
    char buf[4096];
    for (int i = 0; i < 100'000; ++i) {
        boost::system::error_code ec;
        auto n = co_await s.async_read_some(asio::buffer(buf),
                                            asio::redirect_error(asio::use_awaitable, ec));
        if (counted) *counted += n;
        if (ec) break;
    }
}

asio::awaitable<void> origin_connection(tcp::socket s, std::string script, totals& t) {
    char buf[4096];
    boost::system::error_code ec;
    co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (!script.empty()) {
        co_await asio::async_write(s, asio::buffer(script),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) t.origin_sent += script.size();
    }
    s.shutdown(tcp::socket::shutdown_send, ec);
    co_await drain_until_eof(s, nullptr);
}

asio::awaitable<void> origin(tcp::acceptor& acceptor, std::vector<std::string> scripts, totals& t) {
    for (std::size_t i = 0;; ++i) {
        boost::system::error_code ec;
        auto s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        std::string script = i < scripts.size() ? scripts[i] : std::string();
        asio::co_spawn(acceptor.get_executor(), origin_connection(std::move(s), script, t),
                       asio::detached);
    }
}

asio::awaitable<void> client(tcp::socket s, std::string bytes, bool two_writes, totals& t,
                             app::worker& w, tcp::acceptor& acceptor, asio::steady_timer& stop) {
    boost::system::error_code ec;
    const std::size_t first = two_writes ? bytes.size() / 2 : bytes.size();
    const std::string_view all(bytes);
    const auto head = all.substr(0, first);
    const auto tail = all.substr(first);
    co_await asio::async_write(s, asio::buffer(head),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !tail.empty())
        co_await asio::async_write(s, asio::buffer(tail),
                                   asio::redirect_error(asio::use_awaitable, ec));
    s.shutdown(tcp::socket::shutdown_send, ec);
    co_await drain_until_eof(s, &t.client_received);
    t.client_done = true;
    // The client is served: stop the origin and let the worker finish.
    acceptor.close(ec);
    stop.cancel();
    w.post_drain();
}

std::string with_origin(std::string_view bytes, std::string_view authority) {
    std::string out;
    for (std::size_t at = 0;;) {
        auto next = bytes.find("ORIGIN", at);
        if (next == std::string_view::npos) {
            out.append(bytes.substr(at));
            return out;
        }
        out.append(bytes.substr(at, next - at));
        out.append(authority);
        at = next + 6;
    }
}

} // namespace

// As ferry's main does: a peer gone mid-write is an error code, not a signal.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::signal(SIGPIPE, SIG_IGN);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const origin_listener listener;
    listener.flush_backlog();

    fuzz::input in(data, size);
    const std::uint8_t control = in.byte();
    const std::string authority = "127.0.0.1:" + std::to_string(listener.port);
    const std::string request = with_origin(in.until(separator), authority);
    std::vector<std::string> scripts;
    for (int i = 0; i < 8; ++i) {
        auto part = in.until(separator);
        if (part.empty() && i > 0) break;
        scripts.emplace_back(part);
    }

    config::settings s;
    s.workers = 1;
    s.access_log = "off";
    s.connect_ports = {}; // CONNECT may reach the origin's port
    s.header_timeout = 100ms;
    s.idle_timeout = 100ms;
    s.connect_timeout = 100ms;
    s.connect_attempt_timeout = 100ms;
    s.response_timeout = 100ms;
    s.send_timeout = 100ms;
    s.shutdown_timeout = 100ms;
    s.tunnel_idle_timeout = 100ms;
    s.dns_servers = {{"127.0.0.1", 9}}; // nothing answers there: no lookup leaves the host
    s.dns_timeout = 100ms;
    s.splice = (control & 2) != 0;
    if (control & 1) s.parent = config::parent_proxy{"127.0.0.1", listener.port, ""};

    observe::log_sink access_log, flow_log; // disabled
    app::shared_state shared{s, access_log, flow_log, {}};
    totals t;
    {
        app::worker w(shared, 0);
        auto& io = w.io();
        tcp::acceptor acceptor(io);
        acceptor.assign(tcp::v4(), ::fcntl(listener.fd, F_DUPFD_CLOEXEC, 0));

        int pair[2];
        FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        tcp::socket ferry_side(io), client_side(io);
        ferry_side.assign(tcp::v4(), pair[0]);
        client_side.assign(tcp::v4(), pair[1]);
        const tcp::endpoint peer(asio::ip::make_address_v4("127.0.0.1"), 40000);

        // A hard stop: whatever still runs after a second is closed.
        asio::steady_timer stop(io);
        stop.expires_after(1s);
        w.start();
        asio::co_spawn(io, origin(acceptor, scripts, t), asio::detached);
        asio::co_spawn(io, frontend::resume(w, std::move(ferry_side), peer, 1, nullptr),
                       asio::detached);
        asio::co_spawn(
            io, client(std::move(client_side), request, (control & 4) != 0, t, w, acceptor, stop),
            asio::detached);

        stop.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            boost::system::error_code ignored;
            acceptor.close(ignored);
            w.post_force_close();
        });
        io.run_for(3s);
        // Everything must have ended by itself: a session stuck past its timeouts is a bug.
        FUZZ_CHECK(io.stopped());
        FUZZ_CHECK(t.client_done);
    }

    static const bool verbose = std::getenv("FERRY_FUZZ_VERBOSE") != nullptr;
    if (verbose)
        std::fprintf(stderr, "session: request %zu bytes, origin sent %zu, client got %zu\n",
                     request.size(), t.origin_sent, t.client_received);
    // What ferry sent its client: the origin's bytes (chunked anew at worst: under three
    // times as many), plus per request one head of its own or an error page, or a TRACE
    // echo of the request.
    std::size_t lines = 1;
    for (char c : request)
        if (c == '\n') ++lines;
    FUZZ_CHECK(t.client_received <= 3 * t.origin_sent + 2 * request.size() + 4096 * lines);
    return 0;
}

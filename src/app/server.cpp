#include "app/server.h"

#include "app/worker.h"
#include "net/listener.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <thread>
#include <unistd.h>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Unbuffered, so that a process reading ferry's stdout sees the line at once.
void say(const std::string& line) {
    auto data = line.data();
    auto left = line.size();
    while (left > 0) {
        auto n = ::write(STDOUT_FILENO, data, left);
        if (n <= 0) return;
        data += n;
        left -= std::size_t(n);
    }
}

// Listen addresses are IP literals or names from /etc/hosts ("localhost").
bool resolve_listen(const config::listen_address& a, std::vector<tcp::endpoint>& out) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(a.host, ec);
    if (!ec) {
        out.emplace_back(address, a.port);
        return true;
    }
    asio::io_context io;
    tcp::resolver resolver(io);
    auto results =
        resolver.resolve(a.host, std::to_string(a.port), tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        std::fprintf(stderr, "ferry: cannot resolve listen address %s: %s\n", a.host.c_str(),
                     ec ? ec.message().c_str() : "no address");
        return false;
    }
    out.push_back(results.begin()->endpoint());
    return true;
}

} // namespace

int run_server(const config::settings& settings) {
    observe::log_sink access_log, flow_log;
    if (!access_log.open(settings.access_log)) {
        std::fprintf(stderr, "ferry: cannot open access log %s: %s\n", settings.access_log.c_str(),
                     std::strerror(errno));
        return 1;
    }
    if (settings.flow && !flow_log.open(settings.flow_log)) {
        std::fprintf(stderr, "ferry: cannot open flow log %s: %s\n", settings.flow_log.c_str(),
                     std::strerror(errno));
        return 1;
    }

    shared_state shared{settings, access_log, flow_log, {}};
    std::vector<tcp::endpoint> wanted;
    for (const auto& a : settings.listen)
        if (!resolve_listen(a, wanted)) return 1;
    for (const auto& endpoint : wanted) {
        boost::system::error_code ec;
        auto bound = net::claim_endpoint(endpoint, ec);
        if (ec) {
            std::fprintf(stderr, "ferry: cannot listen on %s:%u: %s\n",
                         endpoint.address().to_string().c_str(), endpoint.port(),
                         ec.message().c_str());
            return 1;
        }
        shared.self.push_back(bound);
    }

    std::vector<std::unique_ptr<worker>> workers;
    for (unsigned i = 0; i < settings.workers; ++i) {
        auto w = std::make_unique<worker>(shared, i);
        std::vector<tcp::acceptor> acceptors;
        for (const auto& endpoint : shared.self) {
            boost::system::error_code ec;
            acceptors.push_back(net::open_acceptor(w->io(), endpoint, ec));
            if (ec) {
                std::fprintf(stderr, "ferry: cannot listen on %s:%u: %s\n",
                             endpoint.address().to_string().c_str(), endpoint.port(),
                             ec.message().c_str());
                return 1;
            }
        }
        w->start(std::move(acceptors));
        workers.push_back(std::move(w));
    }
    // Signals are handled on the main thread; workers are told through their own loops.
    asio::io_context main_io;
    asio::signal_set signals(main_io, SIGINT, SIGTERM);
    asio::steady_timer shutdown_deadline(main_io);
    bool stopping = false;
    std::function<void(boost::system::error_code, int)> on_signal =
        [&](boost::system::error_code ec, int) {
            if (ec) return;
            if (stopping) { // a second signal: do not wait any longer
                for (auto& w : workers)
                    w->post_force_close();
                return;
            }
            stopping = true;
            for (const auto& endpoint : shared.self)
                say(fmt::format("Shutting down proxy server on port {}\n", endpoint.port()));
            for (auto& w : workers)
                w->post_drain();
            shutdown_deadline.expires_after(settings.shutdown_timeout);
            shutdown_deadline.async_wait([&](boost::system::error_code tec) {
                if (!tec)
                    for (auto& w : workers)
                        w->post_force_close();
            });
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    // SIGUSR1: logrotate has moved the log files away; write to new ones at their paths.
    asio::signal_set reopen_signal(main_io, SIGUSR1);
    std::function<void(boost::system::error_code, int)> on_reopen =
        [&](boost::system::error_code ec, int) {
            if (ec) return;
            for (auto* sink : {&access_log, &flow_log})
                if (!sink->reopen())
                    std::fprintf(stderr,
                                 "ferry: cannot reopen %s (still writing to the old file): %s\n",
                                 sink->path().c_str(), std::strerror(errno));
            reopen_signal.async_wait(on_reopen);
        };
    reopen_signal.async_wait(on_reopen);
    // Only now, with the handlers in place, say we are up: a supervisor may signal at once.
    for (const auto& endpoint : shared.self)
        say(fmt::format("Starting proxy server on port {}\n", endpoint.port()));

    std::vector<std::thread> threads;
    for (auto& w : workers)
        threads.emplace_back([&w] { w->run(); });

    std::thread signal_thread([&] { main_io.run(); });

    for (auto& t : threads)
        t.join();
    shutdown_deadline.cancel();
    signals.cancel();
    reopen_signal.cancel();
    main_io.stop();
    signal_thread.join();
    return 0;
}

} // namespace ferry::app

#include "app/server.h"

#include "app/worker.h"
#include "auth/htpasswd.h"
#include "net/listener.h"

#include <algorithm>
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
    if (settings.flow) flow_log.open("-");

    shared_state shared{settings, access_log, flow_log, {}};
    std::unique_ptr<auth::service> auth_service; // outlives the workers that use it
    if (!settings.auth.htpasswd.empty()) {
        auto users = std::make_shared<auth::user_table>();
        if (auto problem = auth::load_htpasswd(settings.auth.htpasswd, *users); !problem.empty()) {
            std::fprintf(stderr, "%s\n", problem.c_str());
            return 2;
        }
        if (users->users.empty())
            std::fprintf(stderr, "ferry: %s has no users: every request will be refused\n",
                         settings.auth.htpasswd.c_str());
        // bcrypt is slow by design: verifications get threads of their own, a couple at most,
        // so that a burst of logins cannot take every core from the event loops.
        const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
        auth_service =
            std::make_unique<auth::service>(std::move(users), settings.auth.realm, threads);
        shared.auth = auth_service.get();
    }
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
    main_io.stop();
    signal_thread.join();
    return 0;
}

} // namespace ferry::app

#include "app/server.h"

#include "app/admin.h"
#include "app/privileges.h"
#include "app/reload.h"
#include "app/worker.h"
#include "auth/htpasswd.h"
#include "net/listener.h"
#include "observe/counter.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <sys/resource.h>
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

// Where the flow log goes: "off" when it is not asked for.
std::string flow_destination(const config::settings& s) {
    return s.flow ? s.flow_log : "off";
}

// A reload's log destinations: a new one that cannot be opened keeps the old one (and its
// settings in `next`), and says why.
void retarget_logs(observe::log_sink& access_log, observe::log_sink& flow_log,
                   const config::settings& running, config::settings& next) {
    if (!access_log.retarget(next.access_log)) {
        std::fprintf(stderr, "ferry: reload: cannot open access log %s (still writing to %s): %s\n",
                     next.access_log.c_str(), running.access_log.c_str(), std::strerror(errno));
        next.access_log = running.access_log;
    }
    if (!flow_log.retarget(flow_destination(next))) {
        std::fprintf(stderr, "ferry: reload: cannot open flow log %s (still writing to %s): %s\n",
                     next.flow_log.c_str(), flow_destination(running).c_str(),
                     std::strerror(errno));
        next.flow = running.flow;
        next.flow_log = running.flow_log;
    }
}

// The htpasswd file's users and the verification threads; null (the reason printed) when
// the file cannot be used.
std::unique_ptr<auth::service> load_auth(const config::settings& settings) {
    auto users = std::make_shared<auth::user_table>();
    if (auto problem = auth::load_htpasswd(settings.auth.htpasswd, *users); !problem.empty()) {
        std::fprintf(stderr, "%s\n", problem.c_str());
        return nullptr;
    }
    if (users->users.empty())
        std::fprintf(stderr, "ferry: %s has no users: every request will be refused\n",
                     settings.auth.htpasswd.c_str());
    // bcrypt is slow by design: verifications get threads of their own, a couple at most,
    // so that a burst of logins cannot take every core from the event loops.
    const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
    return std::make_unique<auth::service>(std::move(users), settings.auth.realm, threads);
}

// One worker per thread, each with its own acceptor on every bound listener.
bool start_workers(unsigned count, shared_state& shared,
                   std::vector<std::unique_ptr<worker>>& workers) {
    for (unsigned i = 0; i < count; ++i) {
        auto w = std::make_unique<worker>(shared, i);
        std::vector<tcp::acceptor> acceptors;
        for (const auto& endpoint : shared.self) {
            boost::system::error_code ec;
            acceptors.push_back(net::open_acceptor(w->io(), endpoint, ec));
            if (ec) {
                std::fprintf(stderr, "ferry: cannot listen on %s:%u: %s\n",
                             endpoint.address().to_string().c_str(), endpoint.port(),
                             ec.message().c_str());
                return false;
            }
        }
        w->start(std::move(acceptors));
        workers.push_back(std::move(w));
    }
    return true;
}

// Each configured listen endpoint and what it is bound to (port 0 binds a free port once).
using listener_list = std::vector<std::pair<tcp::endpoint, tcp::endpoint>>;

// What a reload does to the listeners: the new list, the endpoints to open and to close.
struct listener_change {
    listener_list next;
    std::vector<tcp::endpoint> open, close;
};

// Listeners to keep, to open (claimed first: a port in use fails the whole reload) and to
// close; false (the reason printed, after `prefix`) when one cannot be resolved or claimed.
// At start-up nothing runs yet: everything is to open.
bool plan_listeners(const std::vector<config::listen_address>& wanted_addresses,
                    const listener_list& running, listener_change& change,
                    std::string_view prefix) {
    std::vector<tcp::endpoint> wanted;
    for (const auto& a : wanted_addresses)
        if (!resolve_listen(a, wanted)) return false;
    for (const auto& endpoint : wanted) {
        auto kept = std::find_if(running.begin(), running.end(),
                                 [&](const auto& l) { return l.first == endpoint; });
        if (kept != running.end()) {
            change.next.push_back(*kept);
            continue;
        }
        boost::system::error_code ec;
        auto bound = net::claim_endpoint(endpoint, ec);
        if (ec) {
            std::fprintf(stderr, "%.*scannot listen on %s:%u: %s\n", int(prefix.size()),
                         prefix.data(), endpoint.address().to_string().c_str(), endpoint.port(),
                         ec.message().c_str());
            return false;
        }
        change.next.emplace_back(endpoint, bound);
        change.open.push_back(bound);
    }
    for (const auto& l : running)
        if (std::find_if(change.next.begin(), change.next.end(),
                         [&](const auto& n) { return n.first == l.first; }) == change.next.end())
            change.close.push_back(l.second);
    return true;
}

// The admin listener's /metrics page: every worker's counters, pools and DNS caches summed.
std::string metrics_page(const std::vector<std::unique_ptr<worker>>& workers) {
    std::vector<const observe::metrics_shard*> shards;
    observe::upstream_figures up;
    for (auto& w : workers) {
        shards.push_back(&w->metrics());
        const auto& p = w->pool().stats();
        up.pool_opened += observe::read(p.opened);
        up.pool_reused += observe::read(p.reused);
        up.pool_stale += observe::read(p.stale);
        up.pool_evicted += observe::read(p.evicted);
        up.pool_idle += observe::read(p.idle);
        const auto& d = w->resolver().stats();
        up.dns_cache_hits += observe::read(d.cache_hits);
        up.dns_cache_misses += observe::read(d.cache_misses);
    }
    return observe::render_metrics(shards, up);
}

} // namespace

int run_server(const config::settings& settings, settings_loader reload) {
    observe::log_sink access_log, flow_log;
    if (!access_log.open(settings.access_log)) {
        std::fprintf(stderr, "ferry: cannot open access log %s: %s\n", settings.access_log.c_str(),
                     std::strerror(errno));
        return 1;
    }
    if (!flow_log.open(flow_destination(settings))) {
        std::fprintf(stderr, "ferry: cannot open flow log %s: %s\n", settings.flow_log.c_str(),
                     std::strerror(errno));
        return 1;
    }

    shared_state shared{settings, access_log, flow_log, {}};
    if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0)
        shared.automatic_max_connections = automatic_connection_limit(
            files.rlim_cur == RLIM_INFINITY ? std::size_t(1) << 20 : std::size_t(files.rlim_cur));
    std::unique_ptr<auth::service> auth_service; // outlives the workers that use it
    if (!settings.auth.htpasswd.empty()) {
        auth_service = load_auth(settings);
        if (!auth_service) return 2;
        shared.auth = auth_service.get();
    }
    listener_change startup;
    if (!plan_listeners(settings.listen, {}, startup, "ferry: ")) return 1;
    listener_list listeners = std::move(startup.next);
    for (const auto& l : listeners)
        shared.self.push_back(l.second);
    std::vector<asio::ip::address> listen_addresses;
    for (const auto& endpoint : shared.self)
        listen_addresses.push_back(endpoint.address());
    shared.acl_default.store(policy::default_for(listen_addresses));
    if (settings.acl.empty() &&
        shared.acl_default.load() == policy::default_policy::loopback_and_private)
        std::fprintf(stderr, "ferry: no access rules: serving loopback and private-network "
                             "clients only (RFC 1918, IPv6 ULA); add [[acl]] rules to change it\n");

    std::vector<std::unique_ptr<worker>> workers;
    if (!start_workers(settings.workers, shared, workers)) return 1;
    // Signals are handled on the main thread; workers are told through their own loops.
    asio::io_context main_io;
    asio::signal_set signals(main_io, SIGINT, SIGTERM);
    asio::steady_timer shutdown_deadline(main_io);
    bool stopping = false;
    // The settings in force; SIGHUP replaces them (the shutdown timeout is read from here).
    auto running = std::make_shared<const config::settings>(settings);
    std::function<void(boost::system::error_code, int)> on_signal =
        [&](boost::system::error_code ec, int) {
            if (ec) return;
            if (stopping) { // a second signal: do not wait any longer
                for (auto& w : workers)
                    w->post_force_close();
                return;
            }
            stopping = true;
            for (const auto& [wanted_endpoint, endpoint] : listeners)
                say(fmt::format("Shutting down proxy server on port {}\n", endpoint.port()));
            for (auto& w : workers)
                w->post_drain();
            shutdown_deadline.expires_after(running->shutdown_timeout);
            shutdown_deadline.async_wait([&](boost::system::error_code tec) {
                if (!tec)
                    for (auto& w : workers)
                        w->post_force_close();
            });
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    // SIGHUP: read the configuration again and apply it; an invalid one changes nothing.
    asio::signal_set hangups(main_io, SIGHUP);
    std::function<void(boost::system::error_code, int)> on_hangup =
        [&](boost::system::error_code ec, int) {
            if (ec) return;
            hangups.async_wait(on_hangup);
            if (stopping || !reload) return;
            auto fresh = reload();
            if (!fresh) {
                std::fprintf(stderr, "ferry: reload failed: keeping the running configuration\n");
                return;
            }
            auto plan = plan_reload(*running, std::move(*fresh));
            // The htpasswd file is read again; a bad one fails the whole reload.
            std::shared_ptr<auth::user_table> users;
            if (auth_service && !plan.next.auth.htpasswd.empty()) {
                users = std::make_shared<auth::user_table>();
                if (auto problem = auth::load_htpasswd(plan.next.auth.htpasswd, *users);
                    !problem.empty()) {
                    std::fprintf(stderr,
                                 "%s\nferry: reload failed: keeping the running "
                                 "configuration\n",
                                 problem.c_str());
                    return;
                }
            }
            for (const auto& name : plan.restart)
                std::fprintf(stderr, "ferry: reload: %s changes only on restart; keeping it\n",
                             name.c_str());
            listener_change change;
            if (!plan_listeners(plan.next.listen, listeners, change, "ferry: reload: ")) {
                std::fprintf(stderr, "ferry: reload failed: keeping the running configuration\n");
                return;
            }
            auto& [next_listeners, open, close] = change;
            std::vector<tcp::endpoint> self;
            std::vector<asio::ip::address> addresses;
            for (const auto& l : next_listeners) {
                self.push_back(l.second);
                addresses.push_back(l.second.address());
            }
            shared.acl_default.store(policy::default_for(addresses));
            if (users) auth_service->replace_users(std::move(users));
            retarget_logs(access_log, flow_log, *running, plan.next);
            running = std::make_shared<const config::settings>(std::move(plan.next));
            for (auto& w : workers)
                w->post_reconfigure(running, self, open, close);
            for (const auto& endpoint : close)
                say(fmt::format("Shutting down proxy server on port {}\n", endpoint.port()));
            for (const auto& endpoint : open)
                say(fmt::format("Starting proxy server on port {}\n", endpoint.port()));
            listeners = std::move(next_listeners);
            std::fprintf(stderr, "ferry: configuration reloaded\n");
        };
    hangups.async_wait(on_hangup);
    std::optional<admin_server> admin;
    if (settings.admin_listen) {
        std::vector<tcp::endpoint> where;
        if (!resolve_listen(*settings.admin_listen, where)) return 1;
        boost::system::error_code ec;
        auto bound = net::claim_endpoint(where.front(), ec);
        tcp::acceptor acceptor(main_io);
        if (!ec) acceptor = net::open_acceptor(main_io, bound, ec);
        if (ec) {
            std::fprintf(stderr, "ferry: cannot listen for admin on %s:%u: %s\n",
                         settings.admin_listen->host.c_str(), settings.admin_listen->port,
                         ec.message().c_str());
            return 1;
        }
        admin.emplace(main_io, std::move(acceptor), [&workers] { return metrics_page(workers); });
        admin->start();
        say(fmt::format("Admin listener on port {}\n", admin->port()));
    }
    // Everything is bound: root is no longer needed (before any worker thread starts, so
    // every thread runs as the user).
    if (!settings.user.empty()) {
        if (auto problem = drop_privileges(settings.user); !problem.empty()) {
            std::fprintf(stderr, "ferry: --user: %s\n", problem.c_str());
            return 1;
        }
    }

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
    for (const auto& [wanted_endpoint, endpoint] : listeners)
        say(fmt::format("Starting proxy server on port {}\n", endpoint.port()));

    std::vector<std::thread> threads;
    for (auto& w : workers)
        threads.emplace_back([&w] { w->run(); });

    std::thread signal_thread([&] { main_io.run(); });

    for (auto& t : threads)
        t.join();
    shutdown_deadline.cancel();
    signals.cancel();
    hangups.cancel();
    if (admin) asio::post(main_io, [&admin] { admin->stop(); });
    reopen_signal.cancel();
    main_io.stop();
    signal_thread.join();
    return 0;
}

} // namespace ferry::app

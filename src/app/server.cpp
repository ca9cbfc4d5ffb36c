#include "app/server.h"

#include "app/admin.h"
#include "app/admin_auth.h"
#include "app/admin_explain.h"
#include "app/listeners.h"
#include "app/privileges.h"
#include "app/reload.h"
#include "app/self_addresses.h"
#include "app/server_inputs.h"
#include "app/status_page.h"
#include "app/worker.h"
#include "auth/htpasswd.h"
#include "config/values.h"
#include "net/listener.h"
#include "observe/counter.h"
#include "policy/destinations.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "util/process_user.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <deque>
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

// The admin listener's /metrics page: every worker's counters, pools and DNS caches summed.
std::string metrics_page(const std::vector<std::unique_ptr<worker>>& workers,
                         const config::settings& running, std::uint64_t admin_clients) {
    std::vector<const observe::metrics_shard*> shards;
    for (auto& w : workers)
        shards.push_back(&w->metrics());
    auto up = gather_upstream(workers);
    up.admin_clients = admin_clients;
    observe::acl_rule_names rules;
    for (const auto& rule : running.acl)
        rules.push_back(rule.name);
    return observe::render_metrics(shards, up, rules);
}

// "Starting proxy server on port N (ADDRESS)", IPv6 addresses in brackets, and the scheme
// before the address when it is not http: "(socks5://127.0.0.1)".
std::string listener_line(std::string_view verb, const listener& l) {
    const auto address = l.endpoint.address();
    const auto host =
        address.is_v6() ? fmt::format("[{}]", address.to_string()) : address.to_string();
    if (l.front_end->scheme == "http")
        return fmt::format("{} proxy server on port {} ({})\n", verb, l.endpoint.port(), host);
    return fmt::format("{} proxy server on port {} ({}://{})\n", verb, l.endpoint.port(),
                       l.front_end->scheme, host);
}

// The open-file limit main() left ferry (app/admission.h derives the automatic connection
// limit from it).
std::size_t open_file_limit() {
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 0;
    return files.rlim_cur == RLIM_INFINITY ? std::size_t(1) << 30 : std::size_t(files.rlim_cur);
}

// The running server: what start-up builds, and what the signal handlers on the main
// thread's loop share. Members are destroyed in reverse: the signal sets and the admin
// listener before the main loop, the workers before the users and logs they use.
class server final : public admin_source {
public:
    server(const config::settings& settings, settings_loader reload)
        : settings_(settings),
          reload_(std::move(reload)), shared_{settings, access_log_, flow_log_, {}},
          flow_ring_(settings.admin_listen ? settings.admin_flow_entries : 1) {
        if (settings.admin_listen) shared_.flow_ring = &flow_ring_;
        shared_.loop_token = make_loop_token(); // kept for the process's life, reloads included
    }

    // admin_source (app/admin.h), on the main thread's loop.
    std::string metrics_page() override {
        return app::metrics_page(workers_, *running_, admin_ ? admin_->watchers() : 0);
    }
    std::string status_json(bool with_series, std::optional<std::int64_t> sample) override;
    std::string status_tables_html() override;
    observe::flow_ring& flow() override { return flow_ring_; }
    std::shared_ptr<const config::settings> running() override { return running_; }
    const std::string& admin_token() override { return admin_token_; }
    auth::service* users() override { return auth_service_.get(); }
    bool draining() override { return stopping_; }

    int run();

private:
    std::optional<int> start();
    bool open_logs();
    bool load_users();
    bool load_tls(const config::settings& s, std::shared_ptr<const tls::server_context>& out,
                  std::string& error);
    bool bind_listeners();
    void set_default_policy(const listener_list& listeners);
    bool start_workers();
    void watch_signals();
    void on_stop_signal(boost::system::error_code ec);
    void on_hangup(boost::system::error_code ec);
    bool reload(std::string& cause, std::vector<std::string>& restart);
    void note_reload(observe::reload_event event);
    bool reload_users(const config::settings& next, std::shared_ptr<auth::user_table>& users,
                      std::string& cause);
    void apply_reload(config::settings next, std::shared_ptr<auth::user_table> users,
                      tls_contexts tls, listener_change change);
    bool start_admin();
    explain_sources explain_sources_of();
    void on_reopen(boost::system::error_code ec);
    void stop_main_loop();
    process_facts facts() const;

    const config::settings& settings_;
    settings_loader reload_;
    observe::log_sink access_log_, flow_log_;
    shared_state shared_;
    std::unique_ptr<auth::service> auth_service_; // outlives the workers that use it
    // Session-ticket keys: one set for the process, kept across reloads (tickets stay good).
    std::shared_ptr<tls::ticket_keys> ticket_keys_ = std::make_shared<tls::ticket_keys>();
    listener_list listeners_;
    std::vector<std::unique_ptr<worker>> workers_;
    // Signals are handled on the main thread; workers are told through their own loops.
    asio::io_context main_io_;
    asio::signal_set signals_{main_io_}; // SIGINT, SIGTERM: drain, then stop
    asio::steady_timer shutdown_deadline_{main_io_};
    bool stopping_ = false;
    // The settings in force; SIGHUP replaces them (the shutdown timeout is read from here).
    std::shared_ptr<const config::settings> running_;
    asio::signal_set hangups_{main_io_};         // SIGHUP: reload
    std::optional<explain_pages> explain_pages_; // /explain and /proxy.pac (admin listener)
    std::optional<admin_server> admin_;
    asio::signal_set reopen_signal_{main_io_}; // SIGUSR1: reopen the log files
    // The status page's: the last exchanges, when ferry started, the reloads (newest first),
    // the admin listener's bearer token (--admin-auth token; read again on reload).
    observe::flow_ring flow_ring_;
    std::int64_t started_ = unix_now();
    std::deque<observe::reload_event> reloads_;
    std::string reload_failure_; // why the reload under way failed, when not in its cause
    std::string admin_token_;
};

process_facts server::facts() const {
    process_facts f;
    f.started = started_;
    for (const auto& l : listeners_) {
        const auto address = l.bound.endpoint.address();
        f.listen.push_back(fmt::format("{}://{}{}{}:{}", l.bound.front_end->scheme,
                                       address.is_v6() ? "[" : "", address.to_string(),
                                       address.is_v6() ? "]" : "", l.bound.endpoint.port()));
    }
    f.reloads = &reloads_;
    return f;
}

std::string server::status_json(bool with_series, std::optional<std::int64_t> sample) {
    const auto now = unix_now();
    auto snapshot = gather_status(workers_, *running_, facts(), now, with_series);
    if (!sample) return observe::status_json(snapshot);
    const auto second = gather_second(workers_, *sample);
    return observe::status_json(snapshot, &second, *sample);
}

std::string server::status_tables_html() {
    return app::status_tables_html(gather_status(workers_, *running_, facts(), unix_now(), false));
}

int server::run() {
    if (auto failed = start()) return *failed;
    std::vector<std::thread> threads;
    for (auto& w : workers_)
        threads.emplace_back([&w] { w->run(); });
    std::thread signal_thread([this] { main_io_.run(); });
    for (auto& t : threads)
        t.join();
    stop_main_loop();
    signal_thread.join();
    return 0;
}

// Everything up to serving, in order; the exit code when ferry cannot start. Each signal is
// caught from the step that can handle it on.
std::optional<int> server::start() {
    if (!open_logs()) return 1;
    shared_.automatic_max_connections =
        automatic_connection_limit(open_file_limit(), budget_for(settings_));
    if (!load_users()) return 2;
    if (std::string error; !load_tls(settings_, shared_.tls_server, error) ||
                           !load_parent_tls(settings_, shared_.tls_parent, error)) {
        std::fprintf(stderr, "ferry: %s\n", error.c_str());
        return 2;
    }
    if (std::string problem;
        admin_token_ = read_admin_token(settings_, problem), !problem.empty()) {
        std::fprintf(stderr, "ferry: %s\n", problem.c_str());
        return 2;
    }
    if (!bind_listeners() || !start_workers()) return 1;
    watch_signals();
    if (!start_admin()) return 1;
    // Everything is bound: root is no longer needed (before any worker thread starts, so
    // every thread runs as the user).
    if (!settings_.user.empty()) {
        for (const auto& warning : access_warnings(settings_))
            std::fprintf(stderr, "%s\n", warning.c_str());
        if (auto problem = drop_privileges(settings_.user); !problem.empty()) {
            std::fprintf(stderr, "ferry: --user: %s\n", problem.c_str());
            return 1;
        }
    }
    // SIGUSR1: logrotate has moved the log files away; write to new ones at their paths.
    reopen_signal_.add(SIGUSR1);
    reopen_signal_.async_wait([this](boost::system::error_code ec, int) { on_reopen(ec); });
    // Under 10,000 connections, or an explicit limit the open files cannot hold: say so, and why.
    if (auto notice = connection_limit_notice(settings_.max_connections, open_file_limit(),
                                              budget_for(settings_));
        !notice.empty())
        std::fprintf(stderr, "%s\n", notice.c_str());
    // Only now, with the handlers in place, say we are up: a supervisor may signal at once.
    for (const auto& l : listeners_)
        say(listener_line("Starting", l.bound));
    return std::nullopt;
}

bool server::open_logs() {
    if (!access_log_.open(settings_.access_log)) {
        std::fprintf(stderr, "ferry: cannot open access log %s: %s\n", settings_.access_log.c_str(),
                     std::strerror(errno));
        return false;
    }
    if (!flow_log_.open(flow_destination(settings_))) {
        std::fprintf(stderr, "ferry: cannot open flow log %s: %s\n", settings_.flow_log.c_str(),
                     std::strerror(errno));
        return false;
    }
    return true;
}

bool server::load_users() {
    if (settings_.auth.htpasswd.empty()) return true;
    auth_service_ = load_auth(settings_);
    shared_.auth = auth_service_.get();
    return auth_service_ != nullptr;
}

// The https:// listeners' certificates and TLS policy, read from their files (at start and
// on every reload: SIGHUP is how new certificates are taken up). Nothing when no listener
// is https://.
bool server::load_tls(const config::settings& s, std::shared_ptr<const tls::server_context>& out,
                      std::string& error) {
    out = nullptr;
    const bool wanted = std::any_of(s.listen.begin(), s.listen.end(),
                                    [](const auto& l) { return l.scheme == "https"; });
    if (!wanted) return true;
    out = tls::server_context::load(s.tls, ticket_keys_, error, s.http2.enabled);
    return out != nullptr;
}

// Every listen address claimed (nothing runs yet: all are new), and who may use ferry
// without access rules.
bool server::bind_listeners() {
    std::vector<listener> wanted;
    if (!resolve_listeners(settings_.listen, wanted, "ferry: ")) return false;
    listener_change startup;
    if (std::string why; !plan_listeners(wanted, {}, net::claim_endpoint, startup, why)) {
        std::fprintf(stderr, "ferry: %s\n", why.c_str());
        return false;
    }
    listeners_ = std::move(startup.next);
    std::vector<tcp::endpoint> bound;
    for (const auto& l : listeners_)
        bound.push_back(l.bound.endpoint);
    shared_.self = self_endpoints(bound);
    set_default_policy(listeners_);
    if (settings_.acl.empty() &&
        shared_.acl_default.load() == policy::default_policy::loopback_and_private)
        std::fprintf(stderr, "ferry: no access rules: serving loopback and private-network "
                             "clients only (RFC 1918, IPv6 ULA); add [[acl]] rules to change it\n");
    if (auto line = policy::safe_destinations_notice(settings_, shared_.acl_default.load());
        !line.empty())
        std::fprintf(stderr, "%s\n", line.c_str());
    for (const auto& line : list_file_lines(settings_))
        std::fprintf(stderr, "%s\n", line.c_str());
    return true;
}

void server::set_default_policy(const listener_list& listeners) {
    std::vector<asio::ip::address> addresses;
    for (const auto& l : listeners)
        addresses.push_back(l.bound.endpoint.address());
    shared_.acl_default.store(policy::default_for(addresses));
}

// One worker per thread, each with its own acceptor on every bound listener.
bool server::start_workers() {
    for (unsigned i = 0; i < settings_.workers; ++i) {
        auto w = std::make_unique<worker>(shared_, i);
        for (const auto& l : listeners_) {
            if (auto ec = w->listen_on(l.bound)) {
                std::fprintf(stderr, "ferry: cannot listen on %s:%u: %s\n",
                             l.bound.endpoint.address().to_string().c_str(),
                             l.bound.endpoint.port(), ec.message().c_str());
                return false;
            }
        }
        w->start();
        workers_.push_back(std::move(w));
    }
    return true;
}

void server::watch_signals() {
    running_ = std::make_shared<const config::settings>(settings_);
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](boost::system::error_code ec, int) { on_stop_signal(ec); });
    hangups_.add(SIGHUP);
    hangups_.async_wait([this](boost::system::error_code ec, int) { on_hangup(ec); });
}

// SIGINT or SIGTERM: stop accepting and let in-flight exchanges finish, for the shutdown
// timeout at most; a second signal closes everything at once.
void server::on_stop_signal(boost::system::error_code ec) {
    if (ec) return;
    if (stopping_) {
        for (auto& w : workers_)
            w->post_force_close();
        return;
    }
    stopping_ = true;
    for (const auto& l : listeners_)
        say(listener_line("Shutting down", l.bound));
    for (auto& w : workers_)
        w->post_drain();
    shutdown_deadline_.expires_after(running_->shutdown_timeout);
    shutdown_deadline_.async_wait([this](boost::system::error_code tec) {
        if (!tec)
            for (auto& w : workers_)
                w->post_force_close();
    });
    signals_.async_wait([this](boost::system::error_code e, int) { on_stop_signal(e); });
}

// SIGHUP: read the configuration again and apply it; an invalid one changes nothing.
void server::on_hangup(boost::system::error_code ec) {
    if (ec) return;
    hangups_.async_wait([this](boost::system::error_code e, int) { on_hangup(e); });
    if (stopping_ || !reload_) return;
    reload_failure_.clear();
    const auto before = running_;
    std::vector<std::string> restart;
    if (std::string cause; !reload(cause, restart)) {
        std::fprintf(stderr, "ferry: reload failed: %s%skeeping the running configuration\n",
                     cause.c_str(), cause.empty() ? "" : "; ");
        if (!cause.empty()) reload_failure_ = cause;
        if (reload_failure_.empty())
            reload_failure_ = "the configuration did not load (the reason is in ferry's log)";
        note_reload({unix_now(), false, reload_failure_, {}, {}});
        return;
    }
    note_reload(
        {unix_now(), true, "applied", changed_keys(*before, *running_), std::move(restart)});
}

// Newest first, 20 kept.
void server::note_reload(observe::reload_event event) {
    reloads_.push_front(std::move(event));
    if (reloads_.size() > 20) reloads_.pop_back();
}

// One reload; false when the new configuration cannot be applied, with `cause` set when it
// is a file this process may not read (after dropping root: "FILE: permission denied for
// user NAME"), else the reason printed.
bool server::reload(std::string& cause, std::vector<std::string>& restart) {
    // A configuration file ferry may no longer read (after dropping root) is named here, with
    // the user; the loader would say only "Permission denied".
    if (cause = unreadable_by_us(settings_.config_file); !cause.empty()) return false;
    auto fresh = reload_();
    if (!fresh) {
        // The loader checks the htpasswd file too (and said why); an unreadable one is named.
        cause = unreadable_by_us(running_->auth.htpasswd);
        return false;
    }
    auto plan = plan_reload(*running_, std::move(*fresh));
    std::shared_ptr<auth::user_table> users;
    if (!reload_users(plan.next, users, cause)) return false;
    // The parent's CAs are read again; a bad file fails the reload (the old ones stay).
    std::shared_ptr<const tls::client_context> parent_tls;
    if (std::string problem; !load_parent_tls(plan.next, parent_tls, problem)) {
        cause = unreadable_by_us(plan.next.parent_ca);
        if (cause.empty()) cause = std::move(problem);
        return false;
    }
    if (plan.next.admin_auth == "basic" && !auth_service_) {
        cause = "admin_auth basic needs the htpasswd users, which ferry reads only when it "
                "starts with an htpasswd file";
        return false;
    }
    std::string token;
    if (std::string problem; token = read_admin_token(plan.next, problem), !problem.empty()) {
        cause = problem;
        return false;
    }
    for (const auto& name : plan.restart)
        std::fprintf(stderr, "ferry: reload: %s changes only on restart; keeping it\n",
                     name.c_str());
    restart = plan.restart;
    // New certificates (or a bad one: the running ones stay, and the rest of the reload too).
    std::shared_ptr<const tls::server_context> tls;
    if (std::string error; !load_tls(plan.next, tls, error)) {
        std::fprintf(stderr, "ferry: reload: %s\n", error.c_str());
        reload_failure_ = error;
        return false;
    }
    std::vector<listener> wanted;
    if (!resolve_listeners(plan.next.listen, wanted, "ferry: reload: ")) {
        reload_failure_ = "a listen address did not resolve";
        return false;
    }
    listener_change change;
    if (std::string why; !plan_listeners(wanted, listeners_, net::claim_endpoint, change, why)) {
        std::fprintf(stderr, "ferry: reload: %s\n", why.c_str());
        reload_failure_ = why;
        return false;
    }
    admin_token_ = std::move(token);
    apply_reload(std::move(plan.next), std::move(users), {std::move(tls), std::move(parent_tls)},
                 std::move(change));
    std::fprintf(stderr, "ferry: configuration reloaded\n");
    return true;
}

// The htpasswd file is read again; a bad one fails the whole reload. `users` stays null
// when there is no file to read.
bool server::reload_users(const config::settings& next, std::shared_ptr<auth::user_table>& users,
                          std::string& cause) {
    if (!auth_service_ || next.auth.htpasswd.empty()) return true;
    if (cause = unreadable_by_us(next.auth.htpasswd); !cause.empty()) return false;
    users = std::make_shared<auth::user_table>();
    if (auto problem = auth::load_htpasswd(next.auth.htpasswd, *users); !problem.empty()) {
        std::fprintf(stderr, "%s\n", problem.c_str());
        reload_failure_ = problem;
        return false;
    }
    return true;
}

void server::apply_reload(config::settings next, std::shared_ptr<auth::user_table> users,
                          tls_contexts tls, listener_change change) {
    std::vector<tcp::endpoint> bound, close;
    for (const auto& l : change.next)
        bound.push_back(l.bound.endpoint);
    auto self = self_endpoints(bound); // interfaces may have changed since the start
    for (const auto& l : change.close)
        close.push_back(l.endpoint);
    const auto safe_before = policy::safe_destinations_notice(*running_, shared_.acl_default);
    set_default_policy(change.next);
    if (auto line = policy::safe_destinations_notice(next, shared_.acl_default);
        line != safe_before && !line.empty())
        std::fprintf(stderr, "%s\n", line.c_str());
    for (const auto& line : list_file_lines(next))
        std::fprintf(stderr, "%s\n", line.c_str());
    if (users) auth_service_->replace_users(std::move(users));
    retarget_logs(access_log_, flow_log_, *running_, next);
    running_ = std::make_shared<const config::settings>(std::move(next));
    for (auto& w : workers_)
        w->post_reconfigure(running_, tls, self, change.open, close);
    for (const auto& l : change.close)
        say(listener_line("Shutting down", l));
    for (const auto& l : change.open)
        say(listener_line("Starting", l));
    listeners_ = std::move(change.next);
}

// --admin-listen: /metrics and /healthz on the main thread's loop.
bool server::start_admin() {
    if (!settings_.admin_listen) return true;
    std::vector<tcp::endpoint> where;
    if (!resolve_listen(*settings_.admin_listen, where)) return false;
    boost::system::error_code ec;
    auto bound = net::claim_endpoint(where.front(), ec);
    tcp::acceptor acceptor(main_io_);
    if (!ec) acceptor = net::open_acceptor(main_io_, bound, ec);
    if (ec) {
        std::fprintf(stderr, "ferry: cannot listen for admin on %s:%u: %s\n",
                     settings_.admin_listen->host.c_str(), settings_.admin_listen->port,
                     ec.message().c_str());
        return false;
    }
    if (!bound.address().is_loopback() && settings_.admin_auth == "none")
        std::fprintf(stderr,
                     "ferry: warning: the admin listener on %s is not on a loopback address and "
                     "asks for no credentials: anyone who can reach it sees the traffic (set "
                     "admin_auth)\n",
                     bound.address().to_string().c_str());
    admin_.emplace(main_io_, std::move(acceptor), *this);
    shared_.admin = self_endpoints({tcp::endpoint(bound.address(), admin_->port())});
    explain_pages_.emplace(main_io_, settings_, explain_sources_of());
    explain_pages_->add_routes(admin_->routes());
    admin_->start();
    // --status-on-proxy-port: a worker's request for ferry itself is answered here, on this
    // loop, by the same handlers (the worker's coroutine resumes on its own loop).
    shared_.admin_page = [this](const http::request_head& head,
                                std::string_view target) -> asio::awaitable<http::local_reply> {
        auto page = co_await asio::co_spawn(main_io_, admin_->answer_elsewhere(head, target),
                                            asio::use_awaitable);
        co_return page;
    };
    say(fmt::format("Admin listener on port {}\n", admin_->port()));
    return true;
}

// What /explain and /proxy.pac read, on the main loop (where reloads replace it).
explain_sources server::explain_sources_of() {
    return {[this] { return running_; }, [this] { return shared_.acl_default.load(); },
            [this] {
                return auth_service_ ? auth_service_->users()
                                     : std::shared_ptr<const auth::user_table>();
            },
            [this] {
                std::vector<pac_listener> out;
                for (const auto& l : listeners_)
                    out.push_back({l.bound.endpoint, std::string(l.bound.front_end->scheme)});
                return out;
            },
            [this] { return shared_.admin; }};
}

void server::on_reopen(boost::system::error_code ec) {
    if (ec) return;
    for (auto* sink : {&access_log_, &flow_log_})
        if (!sink->reopen())
            std::fprintf(stderr, "ferry: cannot reopen %s (still writing to the old file): %s\n",
                         sink->path().c_str(), util::access_error(errno).c_str());
    reopen_signal_.async_wait([this](boost::system::error_code e, int) { on_reopen(e); });
}

// Every worker has ended: nothing is left for the main thread's loop to wait for.
void server::stop_main_loop() {
    shutdown_deadline_.cancel();
    signals_.cancel();
    hangups_.cancel();
    if (admin_)
        asio::post(main_io_, [this] {
            admin_->stop();
            explain_pages_->stop();
        });
    reopen_signal_.cancel();
    main_io_.stop();
}

} // namespace

int run_server(const config::settings& settings, settings_loader reload) {
    server s(settings, std::move(reload));
    return s.run();
}

} // namespace ferry::app

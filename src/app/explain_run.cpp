#include "app/explain_run.h"

#include "app/listeners.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <memory>

namespace ferry::app {

namespace asio = boost::asio;

namespace {

// What the timer and the lookup share: the timer may fire after the lookup's coroutine has
// moved on, so it holds its own reference.
struct lookup_deadline {
    asio::cancellation_signal cancel;
    bool expired = false;
};

asio::awaitable<explain_lookup> look_up(upstream::resolver& names, const std::string& name,
                                        config::duration timeout) {
    auto deadline = std::make_shared<lookup_deadline>();
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    timer.async_wait([deadline](boost::system::error_code ec) {
        if (ec) return;
        deadline->expired = true;
        deadline->cancel.emit(asio::cancellation_type::terminal);
    });
    // Named, not a temporary: GCC 12 mishandles class temporaries in co_await.
    auto token =
        asio::bind_cancellation_slot(deadline->cancel.slot(), asio::as_tuple(asio::use_awaitable));
    auto [ec, result] = co_await names.async_resolve(name, std::move(token));
    timer.cancel();
    explain_lookup found;
    if (ec && deadline->expired)
        found.error = {core::errc::resolve_timeout,
                       fmt::format("ferry: timed out resolving {}", name)};
    else if (ec)
        found.error = {core::errc::resolve_failed, fmt::format("ferry: cannot resolve {}", name)};
    else {
        found.addresses = std::move(result.addresses);
        found.error = std::move(result.error);
    }
    co_return found;
}

} // namespace

asio::awaitable<explain_outcome> explain(const explain_env& env, upstream::resolver& names,
                                         const explain_args& args) {
    auto state = explain_first(env, args);
    explain_lookup found;
    if (!state.done && !state.resolve.empty())
        found = co_await look_up(names, state.resolve, env.settings.connect_timeout);
    co_return explain_finish(env, std::move(state), found);
}

int run_explain(const config::settings& settings, const explain_args& args) {
    std::vector<listener> listeners;
    if (!resolve_listeners(settings.listen, listeners, "ferry: ")) return 2;
    std::vector<asio::ip::tcp::endpoint> self;
    std::vector<asio::ip::address> addresses;
    for (const auto& l : listeners) {
        self.push_back(l.endpoint);
        addresses.push_back(l.endpoint.address());
    }
    auth::user_table users;
    if (!settings.auth.htpasswd.empty())
        if (auto problem = auth::load_htpasswd(settings.auth.htpasswd, users); !problem.empty()) {
            std::fprintf(stderr, "%s\n", problem.c_str());
            return 2;
        }
    explain_env env{settings, policy::default_for(addresses),
                    settings.auth.htpasswd.empty() ? nullptr : &users, self};
    // The admin listener as configured (a running ferry's /explain knows the bound port).
    std::vector<asio::ip::tcp::endpoint> admin;
    if (settings.admin_listen && resolve_listen(*settings.admin_listen, admin) && !admin.empty())
        env.admin = admin.front();
    asio::io_context io;
    std::optional<upstream::resolver> names;
    try {
        names.emplace(io, settings);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ferry: %s\n", e.what());
        return 2;
    }
    explain_outcome out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            out = co_await explain(env, *names, args);
            names->shutdown(); // nothing left for the loop: run() returns
        },
        asio::detached);
    io.run();
    std::fputs(out.text.c_str(), out.exit_code == 2 ? stderr : stdout);
    return out.exit_code;
}

} // namespace ferry::app

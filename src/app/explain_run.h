// explain's I/O: the DNS lookup through ferry's own resolver (c-ares, --dns-server,
// /etc/hosts), for `ferry explain` on a loop of its own and for /explain on the admin
// listener's loop (asynchronous there: the loop never waits for DNS).
#pragma once

#include "app/explain.h"
#include "upstream/resolver.h"

#include <boost/asio/awaitable.hpp>

namespace ferry::app {

// The whole answer: explain_first(), the lookup (within the connect timeout, as the
// connector does) when there is a name to resolve, explain_finish(). `env` must outlive it.
boost::asio::awaitable<explain_outcome> explain(const explain_env& env, upstream::resolver& names,
                                                const explain_args& args);

// `ferry explain`: judges `args` against `settings` (the listen addresses give the default
// policy), prints the answer (a usage error on stderr) and returns the exit status.
int run_explain(const config::settings& settings, const explain_args& args);

} // namespace ferry::app

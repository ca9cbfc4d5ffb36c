// Owns the workers and their threads, the listeners, signals and shutdown.
#pragma once

#include "config/settings.h"

namespace ferry::app {

// Runs ferry until SIGINT or SIGTERM; returns the process exit code.
int run_server(const config::settings& settings);

} // namespace ferry::app

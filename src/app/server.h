// Owns the workers and their threads, the listeners, signals and shutdown.
#pragma once

#include "config/settings.h"

#include <functional>
#include <optional>

namespace ferry::app {

// Reads the configuration again (the command line and the file it names); empty when it is
// invalid (the reason already printed).
using settings_loader = std::function<std::optional<config::settings>()>;

// Runs ferry until SIGINT or SIGTERM; SIGHUP reloads with `reload`. Returns the exit code.
int run_server(const config::settings& settings, settings_loader reload = {});

} // namespace ferry::app

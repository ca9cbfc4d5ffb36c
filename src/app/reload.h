// What a reload (SIGHUP) may change. Pure: the server applies the result.
#pragma once

#include "config/settings.h"

#include <string>
#include <vector>

namespace ferry::app {

struct reload_plan {
    config::settings next;            // the new settings, with the fixed ones kept
    std::vector<std::string> restart; // settings that changed but need a restart
};

// `next` as read from the configuration, except the options the registry
// (config/options.h) marks restart-only (workers, DNS, the admin listener, the user, turning
// authentication on or off, the realm): those that changed keep their running values and are
// named in `restart`, by their key.
reload_plan plan_reload(const config::settings& running, config::settings next);

// The keys of the options whose values differ between `before` and `after` (the command-line
// flag for one without a key), and "acl" when the access rules differ: what a reload changed.
std::vector<std::string> changed_keys(const config::settings& before,
                                      const config::settings& after);

} // namespace ferry::app

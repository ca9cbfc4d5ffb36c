#include "app/reload.h"

#include "config/options.h"

#include <algorithm>

namespace ferry::app {

reload_plan plan_reload(const config::settings& running, config::settings next) {
    reload_plan plan;
    for (const auto& o : config::options()) {
        if (o.about.reload != config::reload_class::restart || o.same(running, next)) continue;
        plan.restart.emplace_back(o.about.key.empty() ? o.about.flag : o.about.key);
        o.copy(running, next);
    }
    plan.next = std::move(next);
    return plan;
}

std::vector<std::string> changed_keys(const config::settings& before,
                                      const config::settings& after) {
    std::vector<std::string> keys;
    for (const auto& o : config::options()) {
        if (o.same(before, after)) continue;
        std::string key(o.about.key.empty() ? o.about.flag : o.about.key);
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
    if (before.acl != after.acl) keys.emplace_back("acl");
    return keys;
}

} // namespace ferry::app

#include "app/reload.h"

#include "config/options.h"

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

} // namespace ferry::app

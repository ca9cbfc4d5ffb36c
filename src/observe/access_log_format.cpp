#include "observe/access_log_format.h"

namespace ferry::observe {

std::optional<access_log_format> parse_access_log_format(std::string_view name) {
    if (name == "ferry") return access_log_format::ferry;
    if (name == "squid") return access_log_format::squid;
    if (name == "combined") return access_log_format::combined;
    if (name == "json") return access_log_format::json;
    return std::nullopt;
}

} // namespace ferry::observe

// The access log's line formats (--access-log-format).
#pragma once

#include <optional>
#include <string_view>

namespace ferry::observe {

enum class access_log_format {
    ferry,    // TIME CLIENT METHOD TARGET STATUS BYTES_TO BYTES_FROM DURATIONms ["CAUSE"]
    squid,    // Squid's native access.log
    combined, // Apache/nginx "combined"
    json,     // one JSON object per line
};

// "ferry", "squid", "combined", "json"; nothing for anything else.
std::optional<access_log_format> parse_access_log_format(std::string_view name);

} // namespace ferry::observe

// Wall-clock text for Date fields (IMF-fixdate, RFC 9110 §5.6.7) and log timestamps.
#pragma once

#include <chrono>
#include <string>

namespace ferry::observe {

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string http_date(std::chrono::system_clock::time_point t);

// "2026-11-27T06:31:18.123Z"
std::string iso_timestamp(std::chrono::system_clock::time_point t);

// "27/Nov/2026:06:31:18 +0000" (Common Log Format, in UTC)
std::string clf_timestamp(std::chrono::system_clock::time_point t);

} // namespace ferry::observe

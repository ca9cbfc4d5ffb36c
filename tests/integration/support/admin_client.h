// ferry's admin listener (--admin-listen 127.0.0.1:0) as tests read it.
#pragma once

#include "support/ferry_process.h"

#include <string>
#include <string_view>

namespace ferry_test {

// The port ferry announced ("Admin listener on port N"), or 0.
int admin_port(const ferry_process& ferry);

// One raw request to the admin port; the whole response.
std::string admin_get(int port, std::string_view request_line);

// The value of one sample ("name{labels}" exactly as rendered) on a /metrics page, or -1.
double metric(const std::string& page, const std::string& sample);

// The same, fetching the page first.
double fetch_metric(int port, const std::string& sample);

} // namespace ferry_test

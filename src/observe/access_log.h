// One line per exchange:
//   TIME CLIENT METHOD TARGET STATUS BYTES_TO_CLIENT BYTES_FROM_CLIENT DURATIONms ["CAUSE"]
#pragma once

#include "observe/exchange_record.h"

#include <string>

namespace ferry::observe {

void append_access_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                        std::string& out);

} // namespace ferry::observe

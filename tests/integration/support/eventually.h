// Waiting for a condition instead of sleeping for a guess.
#pragma once

#include <chrono>
#include <functional>

namespace ferry_test {

// Polls `check` every 50 ms until it holds or `limit` passes; the last check's answer.
bool eventually(const std::function<bool()>& check,
                std::chrono::milliseconds limit = std::chrono::seconds(5));

} // namespace ferry_test

#include "support/eventually.h"

#include <thread>

namespace ferry_test {

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (check()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return check();
}

} // namespace ferry_test

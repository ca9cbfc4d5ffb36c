// Helpers for fault tests: resets, bounded sends, a bystander client that must stay
// unaffected, the resource gauges on /metrics, and a clean (sanitizer-quiet) exit.
#pragma once

#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ferry_test {

// Closes with SO_LINGER 0: the peer gets a RST instead of a FIN.
void reset_connection(tcp_stream& s);

// Bounds every later send on `s` (a blocked send_all then fails instead of hanging).
void set_send_timeout(tcp_stream& s, std::chrono::milliseconds timeout);

// True when the peer of `s` has closed or reset, without consuming any bytes it sent.
bool peer_gone(const tcp_stream& s);

// Waits until a /metrics sample equals `value`; true if it did within `timeout`.
bool wait_metric(int admin_port, const std::string& sample, double value,
                 std::chrono::milliseconds timeout = 5s);

// The arguments every fault test's ferry gets: one worker (the bystander shares the loop
// with the fault) and an admin listener for /metrics.
std::vector<std::string> fault_ferry_args(std::vector<std::string> more = {});

// ferry's client and upstream connection gauges are back to zero (upstream connections
// are only counted while open: in use or idle in the pool).
::testing::AssertionResult resources_released(const ferry_process& ferry,
                                              std::chrono::milliseconds timeout = 5s);

// Stops ferry with SIGTERM: it must exit with status 0 and print no sanitizer report
// (LeakSanitizer, AddressSanitizer, UBSan's "runtime error"). Opt-in for any test.
::testing::AssertionResult stops_clean(ferry_process& ferry);

// An origin whose every response carries Connection: close, so it never sits in ferry's
// pool: /size/N answers N pattern bytes.
test_origin::handler closing_handler();

// A client on connections of its own, fetching /size/N through ferry from its own origin
// again and again while a fault happens elsewhere; every body must arrive byte-exact.
class bystander {
public:
    bystander(int ferry_port, const test_origin& origin, std::size_t size = 100000);
    ~bystander();
    // Stops after the exchange in progress; returns the failures (empty when none).
    std::vector<std::string> finish();
    int exchanges() const { return done_.load(); }

private:
    void run(int ferry_port, std::string request, std::size_t size);
    std::atomic<bool> stop_{false};
    std::atomic<int> done_{0};
    std::vector<std::string> failures_;
    std::thread thread_;
};

// The ferry of one fault test (fault_ferry_args(more)) and, once it has started, a bystander
// fetching through it from an origin of its own. Declare it after the test's own origins.
struct fault_ferry {
    explicit fault_ferry(std::vector<std::string> more = {});

    // How every fault test ends: the bystander was served byte-exact throughout, ferry's
    // connection gauges are back to zero, and it stops clean.
    void expect_all_well();

    test_origin other;
    ferry_process ferry;
    std::optional<bystander> watcher;
};

} // namespace ferry_test

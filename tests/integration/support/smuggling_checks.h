// Shared checks of the smuggling tests (desync corpus, Transfer-Encoding disguises): one
// raw request on a new client connection through a ferry shared by the suite, then what the
// client got and what a strict origin (recording_origin) read.
#pragma once

#include "support/ferry_process.h"
#include "support/recording_origin.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace ferry_test {

struct client_exchange {
    std::string response;
    bool closed = false; // ferry closed the client connection after its response
};

// Sends `bytes` on a new connection (ferry may close before taking them all), reads one
// response and, unless it is a 2xx, whether ferry then closes.
// `head_request`: the response has no body whatever its framing says.
client_exchange send_one(int port, std::string_view bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                         bool head_request = false);

// A refusal: `status`, a one-line text/plain "ferry: <cause>" body (none for a HEAD
// request), Connection: close, and the connection really closed.
void expect_ferry_refusal(const client_exchange& x, int status, bool head_request = false);

// Exactly one request reached the origin since it held `before` messages, and any strict
// parser reads it the same way: clean head, one framing at most, the body that was sent
// (`body`, decoded), and the relay duties of issue 2 (origin-form target, Host from the
// target, Via added, no hop-by-hop field). Returns the message for further checks.
recorded_request expect_one_clean_message(const recording_origin& origin, std::size_t before,
                                          std::string_view body);

// Nothing reached the origin since `before`, and a following request on a new connection is
// still served; it is then the only new message at the origin (nothing of the refused
// request, or of a request smuggled in it, came ahead of it).
void expect_nothing_forwarded_and_still_serving(const ferry_process& ferry,
                                                const recording_origin& origin, std::size_t before);

// Stops the ferry a suite shared: it exits 0, and its stderr holds no sanitizer report
// (the whole suite's traffic went through it).
void expect_clean_exit(ferry_process& ferry);

} // namespace ferry_test

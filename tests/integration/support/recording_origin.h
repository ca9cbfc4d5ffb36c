// An origin for smuggling tests: it reads requests the way a strict HTTP/1.1 server would
// (RFC 9112: CRLF lines, token names, one framing) and records each one as raw bytes, with
// the problems found in it. One origin serves a whole suite; each test finds its own
// requests by position (messages()) or by a marker in the target.
#pragma once

#include "support/origin.h"
#include "support/strict_head.h"

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ferry_test {

// One request as the origin read it.
struct recorded_request {
    std::string head;    // raw, up to and including the empty line
    std::string body;    // raw, as framed (chunked bytes undecoded)
    std::string decoded; // the body after removing the chunked coding
    strict_head parsed;  // parsed.problem also names framing problems
};

class recording_origin {
public:
    recording_origin();

    int port() const { return origin_.port(); }
    std::string authority() const { return origin_.authority(); }
    int connections() const { return origin_.connections(); }
    // Waits until `n` connections have ended (or timeout); true if they did.
    bool wait_closed(int n, std::chrono::milliseconds timeout) const {
        return origin_.wait_closed(n, timeout);
    }

    // Every request read so far, in order of arrival.
    std::vector<recorded_request> messages() const;
    std::size_t count() const;

private:
    void serve(origin_connection& c);

    mutable std::mutex mutex_;
    std::vector<recorded_request> messages_;
    test_origin origin_; // last: its threads use the members above
};

} // namespace ferry_test

// An origin for smuggling tests: it reads requests the way a strict HTTP/1.1 server would
// (RFC 9112: CRLF lines, token names, one framing) and records each one as raw bytes, with
// the problems found in it. One origin serves a whole suite; each test finds its own
// requests by position (messages()) or by a marker in the target.
#pragma once

#include "support/origin.h"

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ferry_test {

using field_list = std::vector<std::pair<std::string, std::string>>;

// A message head as read by a strict parser.
struct strict_head {
    std::string start_line;
    field_list fields;
    std::string problem; // empty when the head is clean
};

// Parses a head ending in CRLF CRLF: every line ends in CRLF, no CR, LF or NUL inside a
// line, no obs-fold, every field line is token ":" value, no control character in a value.
strict_head parse_strict_head(std::string_view head);

int count_fields(const field_list& fields, std::string_view name);
std::string field_value(const field_list& fields, std::string_view name);

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

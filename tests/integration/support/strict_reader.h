// A strict HTTP/1.1 response reader for the client side of smuggling tests: it splits the
// bytes a client received into messages the way a careful client would (RFC 9112 §6.3),
// so a test can say "exactly one final response, nothing after it".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry_test {

struct strict_message {
    int status = 0;
    std::string head;
    std::string body;     // raw (still chunked when chunked)
    bool complete = true; // false: cut short by the end of the bytes (close)
};

struct strict_reading {
    std::vector<strict_message> messages;
    std::string error;  // non-empty: the bytes are not a strict sequence of responses
    int finals() const; // messages with status >= 200
};

// `head_request`: the responses answer HEAD (no bodies). Bytes framed by the close (no
// Content-Length, not chunked) belong to the last message's body.
strict_reading read_strictly(std::string_view bytes, bool head_request = false);

} // namespace ferry_test

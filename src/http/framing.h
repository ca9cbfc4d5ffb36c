// Where a message body ends (RFC 9112 §6). Pure decisions over a parsed head.
// ferry is stricter than the RFC's "MAY accept" cases: whenever two readers could disagree
// about the body length, the message is rejected (400 from a client, 502 from an origin).
#pragma once

#include "http/head.h"

#include <cstdint>
#include <string_view>

namespace ferry::http {

enum class body_kind {
    none,        // no body
    length,      // Content-Length bytes
    chunked,     // chunked transfer coding
    until_close, // response read until the origin closes (RFC 9112 §6.3 item 8)
};

struct body_framing {
    body_kind kind = body_kind::none;
    std::uint64_t length = 0;
};

enum class framing_error {
    none,
    te_and_cl,          // Transfer-Encoding and Content-Length together (§6.1)
    te_in_http10,       // Transfer-Encoding in an HTTP/1.0 message (§6.1)
    chunked_not_last,   // a coding after chunked, or chunked twice (§6.3)
    unknown_coding,     // only chunked is understood → 501 for requests
    bad_content_length, // empty, non-digits, sign, overflow
    differing_lengths,  // several Content-Length values that differ (§6.3 item 5)
};

std::string_view describe(framing_error e);

framing_error request_framing(const request_head& head, body_framing& out);

// request_method: the method of the request this answers (HEAD has no response body).
framing_error response_framing(const response_head& head, std::string_view request_method,
                               body_framing& out);

// The framing a response's fields declare, whatever its status: what a HEAD or 304
// response says the representation would have.
framing_error declared_framing(const response_head& head, body_framing& out);

// 1xx, 204 and 304 never have a body (RFC 9110 §6.4.1).
inline bool status_has_no_body(int status) {
    return status < 200 || status == 204 || status == 304;
}

} // namespace ferry::http

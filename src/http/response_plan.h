// How a final response goes to the client (RFC 9112 §6, RFC 9110 §2.5): the framing fields of
// the head ferry writes, whether the body is re-chunked, and whether ferry closes after it.
// Pure: the session and the response fuzzer both use it.
#pragma once

#include "http/framing.h"
#include "http/head.h"
#include "http/rewrite.h"

namespace ferry::http {

struct response_plan {
    framing_fields framing;
    bool chunked_output = false; // the body goes out in chunks ferry writes
    bool close = false;          // "Connection: close": ferry closes after this response
    bool keep_alive_10 = false;  // an HTTP/1.0 client kept alive: "Connection: keep-alive"
};

// `in`: the response's framing as read (response_framing); `close`: ferry closes after this
// exchange whatever the framing says (the client asked, ferry drains, a body left unread).
response_plan plan_response(const response_head& resp, const body_framing& in, bool client_11,
                            bool close);

} // namespace ferry::http

// The HTTP/1.1 way of writing an exchange's answers (proxy/client_protocol.h): heads as
// bytes, bodies re-chunked where the length is unknown and the client speaks 1.1, and the
// keep-alive rules of RFC 9112 §9.3 for HTTP/1.0 and 1.1 clients.
#pragma once

#include "proxy/client_protocol.h"

namespace ferry::frontend {

// Stateless: one for every HTTP/1 connection.
const proxy::client_protocol& http1_answers();

// True when the client asked for its connection to end after this exchange: "Connection:
// close", or HTTP/1.0 without keep-alive.
bool http1_client_wants_close(const http::request_head& request);

} // namespace ferry::frontend

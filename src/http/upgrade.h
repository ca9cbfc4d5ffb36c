// HTTP Upgrade through the proxy (RFC 9110 §7.8): whether ferry passes a request's offer to
// switch protocols on, and whether an origin's 101 Switching Protocols accepts that offer.
// Pure functions; the session turns an accepted switch into a tunnel.
#pragma once

#include "http/head.h"

namespace ferry::http {

// True when ferry forwards the request's Upgrade offer: an HTTP/1.1 request (an HTTP/1.0
// request's Upgrade is ignored, RFC 9110 §7.8) with at least one protocol in Upgrade,
// "upgrade" listed in Connection, and no request body. With a body the offer is dropped and
// the request goes on as an ordinary one: a switch could only happen once the whole body had
// reached the origin, and no client in practice upgrades with a body.
bool forwards_upgrade(const request_head& head, bool has_body);

// True when the 101's Upgrade field names at least one protocol and every protocol it names
// was offered by the request (RFC 9110 §7.8: a server MUST NOT switch to a protocol the
// client did not indicate). Protocols compare as whole tokens ("name" or "name/version"),
// case-insensitively.
bool switch_was_offered(const request_head& request, const response_head& response);

} // namespace ferry::http

// The words of the access log's cause for an exchange ferry did not complete: each names
// who ended it — the client, the origin, one of ferry's timeouts (by its option, with the
// value in force), ferry's shutdown — so that a cut transfer is never blamed on the wrong
// side. Failures found before anything was relayed keep their own causes (core/error.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace ferry::proxy::causes {

using std::chrono::milliseconds;

// The client closed or reset its connection while ferry was writing `what` to it.
std::string client_closed(std::string_view what);
// The client left ferry's writes unread for --send-timeout.
std::string client_not_reading(milliseconds send_timeout, std::string_view what);
// The client sent nothing of its request body for --idle-timeout.
std::string client_stalled_body(milliseconds idle_timeout);
// The origin `label` closed its connection before the end of the response.
std::string origin_closed(std::string_view label);
// The origin `label` sent nothing for --response-timeout in the middle of the response.
std::string origin_stalled(std::string_view label, milliseconds response_timeout);
// Neither side of a tunnel moved a byte for --tunnel-idle-timeout.
std::string tunnel_idle(milliseconds tunnel_idle_timeout);
// ferry closed the exchange because it is shutting down: the drain time ran out (or a second
// stop signal came) while `what` was under way.
std::string shutdown(milliseconds shutdown_timeout, std::string_view what);

} // namespace ferry::proxy::causes

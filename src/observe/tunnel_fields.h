// What a CONNECT tunnel's client sent first (exchange_record's tls_* fields), as the access-log
// formats and the flow log write it. Nothing at all for other exchanges, and for a tunnel
// whose client sent nothing, so that their lines stay as they were. The fields are log-safe
// already (tls/client_hello escapes what is not a name byte).
#pragma once

#include "observe/exchange_record.h"

#include <string>

namespace ferry::observe {

// " sni=example.test alpn=h2,http/1.1" (- for none) for a hello ferry read. With `full` (the
// ferry format), also " ech=1" when the hello carries ECH, " tls=no" when the bytes were not
// TLS, " tls=malformed" or " tls=too_large" for a hello ferry could not read; without it
// (squid, combined: formats other tools parse) a tunnel that carried no readable hello keeps
// its line as it was.
void append_tunnel_tls_fields(const exchange_record& r, bool full, std::string& out);

// JSON members, each after a comma: "tunnel_tls":"hello"|"not_tls"|"malformed"|"too_large",
// "tls_sni" (string or null), "tls_alpn" (comma-joined string or null), "tls_ech" (bool).
void append_tunnel_tls_json(const exchange_record& r, std::string& out);

// The flow block's line: " > TLS hello: sni=… alpn=… ech=no", " > not TLS", or
// " > TLS hello unreadable (too_large): why"; then " > ferry: tunnel refused: …" when refused.
void append_tunnel_tls_flow(const exchange_record& r, std::string& out);

} // namespace ferry::observe

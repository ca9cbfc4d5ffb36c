// The "combined" format of Apache and nginx:
//   CLIENT_IP - USER [dd/Mon/yyyy:HH:MM:SS +0000] "REQUEST LINE" STATUS BODY_BYTES "REFERER" "UA"
// with "-" for what is absent. The time is when the request started (as Apache's %t), in UTC;
// BODY_BYTES counts the response body only (nginx's $body_bytes_sent). Client-supplied text
// is escaped as nginx escapes it (\xHH). A CONNECT tunnel's line ends in " sni=… alpn=…"
// when its client sent a TLS hello ferry could read.
#include "observe/access_log.h"
#include "observe/clock.h"
#include "observe/log_escape.h"
#include "observe/tunnel_fields.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {

void append_field(std::string_view text, std::string& out) {
    if (text.empty())
        out.push_back('-');
    else
        append_nginx_escaped(text, out);
}

} // namespace

void append_combined_line(const exchange_record& r, std::string& out) {
    const auto it = std::back_inserter(out);
    out.append(client_address(r.client));
    out.append(" - ");
    append_field(r.user, out);
    fmt::format_to(it, " [{}] \"", clf_timestamp(r.started));
    append_field(r.request_line, out);
    fmt::format_to(it, "\" {:03} {} \"", r.status, r.body_bytes);
    append_field(r.referer, out);
    out.append("\" \"");
    append_field(r.user_agent, out);
    out.push_back('"');
    append_tunnel_tls_fields(r, false, out); // CONNECT tunnels only: " sni=… alpn=…"
    out.push_back('\n');
}

} // namespace ferry::observe

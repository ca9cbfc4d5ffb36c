// One JSON object per line:
//   {"time":"2026-11-27T06:31:18.123Z","client":"127.0.0.1:51234","method":"GET",
//    "target":"http://example.test/","status":200,"bytes_to_client":1234,
//    "bytes_from_client":78,"body_bytes":1000,"duration_ms":12.345,"upstream":"example.test:80",
//    "protocol":"HTTP/1.1","connection":7,  (and "stream":3 for an HTTP/2 exchange)
//    "cause":"...","user":"...","user_agent":"curl/8.0","referer":null}
// "cause" and "user" appear only when there is one; a CONNECT tunnel whose client sent
// something has "tunnel_tls", "tls_sni", "tls_alpn" and "tls_ech" (observe/tunnel_fields.h); absent
// strings are null. Every string is escaped by append_json_string, so that any byte a client sends
// gives valid JSON.
#include "observe/access_log.h"
#include "observe/clock.h"
#include "observe/log_escape.h"
#include "observe/tunnel_fields.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {

void append_string_or_null(std::string_view text, std::string& out) {
    if (text.empty())
        out.append("null");
    else
        append_json_string(text, out);
}

} // namespace

void append_json_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                      std::string& out) {
    const auto it = std::back_inserter(out);
    const double ms = std::chrono::duration<double, std::milli>(end - r.started_steady).count();
    fmt::format_to(it, "{{\"time\":\"{}\",\"client\":", iso_timestamp(r.started));
    append_json_string(r.client, out);
    out.append(",\"method\":");
    append_string_or_null(r.method == "-" ? std::string_view{} : r.method, out);
    out.append(",\"target\":");
    append_string_or_null(r.target, out);
    fmt::format_to(it, ",\"status\":{},\"bytes_to_client\":{},\"bytes_from_client\":{}", r.status,
                   r.bytes_to_client, r.bytes_from_client);
    fmt::format_to(it, ",\"body_bytes\":{},\"duration_ms\":{:.3f},\"upstream\":", r.body_bytes, ms);
    append_string_or_null(r.upstream, out);
    fmt::format_to(it, ",\"protocol\":\"{}\",\"connection\":{}",
                   r.stream != 0 ? "HTTP/2" : "HTTP/1.1", r.connection);
    if (r.stream != 0) fmt::format_to(it, ",\"stream\":{}", r.stream);
    if (!r.cause.empty()) {
        out.append(",\"cause\":");
        append_json_string(r.cause, out);
    }
    if (!r.user.empty()) {
        out.append(",\"user\":");
        append_json_string(r.user, out);
    }
    append_tunnel_tls_json(r, out); // CONNECT tunnels only
    out.append(",\"user_agent\":");
    append_string_or_null(r.user_agent, out);
    out.append(",\"referer\":");
    append_string_or_null(r.referer, out);
    out.append("}\n");
}

} // namespace ferry::observe

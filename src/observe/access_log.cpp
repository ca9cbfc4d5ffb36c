#include "observe/access_log.h"

#include "observe/clock.h"
#include "observe/tunnel_fields.h"

#include <fmt/format.h>

namespace ferry::observe {

void append_access_line(access_log_format format, const exchange_record& r,
                        std::chrono::steady_clock::time_point end, std::string& out) {
    switch (format) {
    case access_log_format::ferry:
        return append_ferry_line(r, end, out);
    case access_log_format::squid:
        return append_squid_line(r, end, out);
    case access_log_format::combined:
        return append_combined_line(r, out);
    case access_log_format::json:
        return append_json_line(r, end, out);
    }
}

void append_ferry_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                       std::string& out) {
    double ms = std::chrono::duration<double, std::milli>(end - r.started_steady).count();
    fmt::format_to(std::back_inserter(out), "{} {} {} {} {:03} {} {} {:.3f}ms",
                   iso_timestamp(r.started), r.client, r.method.empty() ? "-" : r.method,
                   r.target.empty() ? "-" : r.target, r.status, r.bytes_to_client,
                   r.bytes_from_client, ms);
    if (r.stream != 0)
        fmt::format_to(std::back_inserter(out), " proto=h2 conn={} stream={}", r.connection,
                       r.stream);
    if (!r.user.empty()) fmt::format_to(std::back_inserter(out), " user=\"{}\"", r.user);
    append_tunnel_tls_fields(r, true, out); // CONNECT tunnels only
    if (!r.cause.empty()) {
        // Quoted: a quote or backslash inside (a rule's name) is escaped.
        out.append(" \"");
        for (char c : r.cause) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
        out.push_back('"');
    }
    out.push_back('\n');
}

} // namespace ferry::observe

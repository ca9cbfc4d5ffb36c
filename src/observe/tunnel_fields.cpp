#include "observe/tunnel_fields.h"

#include "observe/log_escape.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {

using kind = exchange_record::tunnel_tls;

std::string_view or_dash(const std::string& s) {
    return s.empty() ? std::string_view("-") : std::string_view(s);
}

bool readable_hello(const exchange_record& r) {
    return r.tunnel_bytes_kind == kind::tls && r.tls_unreadable.empty();
}

} // namespace

void append_tunnel_tls_fields(const exchange_record& r, bool full, std::string& out) {
    const auto it = std::back_inserter(out);
    if (readable_hello(r)) {
        fmt::format_to(it, " sni={} alpn={}", or_dash(r.tls_sni), or_dash(r.tls_alpn));
        if (full && r.tls_ech) out.append(" ech=1");
    } else if (!full) {
        return;
    } else if (r.tunnel_bytes_kind == kind::not_tls) {
        out.append(" tls=no");
    } else if (r.tunnel_bytes_kind == kind::tls) {
        fmt::format_to(it, " tls={}", r.tls_unreadable);
    }
}

void append_tunnel_tls_json(const exchange_record& r, std::string& out) {
    if (r.tunnel_bytes_kind == kind::unknown) return;
    const auto it = std::back_inserter(out);
    std::string_view what = "hello";
    if (r.tunnel_bytes_kind == kind::not_tls)
        what = "not_tls";
    else if (!r.tls_unreadable.empty())
        what = r.tls_unreadable;
    fmt::format_to(it, ",\"tunnel_tls\":\"{}\",\"tls_sni\":", what);
    if (r.tls_sni.empty())
        out.append("null");
    else
        append_json_string(r.tls_sni, out);
    out.append(",\"tls_alpn\":");
    if (!readable_hello(r) || r.tls_alpn.empty())
        out.append("null");
    else
        append_json_string(r.tls_alpn, out);
    fmt::format_to(it, ",\"tls_ech\":{}", r.tls_ech ? "true" : "false");
}

void append_tunnel_tls_flow(const exchange_record& r, std::string& out) {
    const auto it = std::back_inserter(out);
    if (r.tunnel_bytes_kind == kind::not_tls)
        out.append(" > not TLS\n");
    else if (r.tunnel_bytes_kind == kind::tls && !r.tls_unreadable.empty())
        fmt::format_to(it, " > TLS hello unreadable ({}): {}\n", r.tls_unreadable, r.tls_problem);
    else if (readable_hello(r))
        fmt::format_to(it, " > TLS hello: sni={}{} alpn={} ech={}\n", or_dash(r.tls_sni),
                       r.tls_sni_invalid ? " (not a DNS name)" : "", or_dash(r.tls_alpn),
                       r.tls_ech ? "yes" : "no");
    if (r.tunnel_refused) fmt::format_to(it, " > {}\n", r.cause);
}

} // namespace ferry::observe

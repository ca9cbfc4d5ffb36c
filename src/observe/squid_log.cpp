// Squid's native access.log line, as Squid's built-in "squid" logformat writes it:
//   %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
// e.g. "1700000000.123     45 127.0.0.1 TCP_MISS/200 1234 GET http://example.com/ -
//       HIER_DIRECT/93.184.216.34 text/html". The time is when the exchange ended. A CONNECT
// tunnel's line ends in " sni=… alpn=…" when its client sent a TLS hello ferry could read.
#include "observe/access_log.h"
#include "observe/log_escape.h"
#include "observe/tunnel_fields.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {

void append_field(std::string_view text, std::string& out) {
    if (text.empty())
        out.push_back('-');
    else
        append_url_escaped(text, out);
}

} // namespace

std::string squid_result_code(const exchange_record& r) {
    const bool parsed = !r.method.empty() && r.method != "-";
    const bool ferry_answered = r.status != 0 && r.status_line.empty();
    std::string code;
    if (!parsed)
        code = "NONE_NONE"; // no request Squid could act on
    else if (ferry_answered && (r.status == 403 || r.status == 407))
        code = "TCP_DENIED";
    else if (ferry_answered && r.status >= 400 && r.status < 500)
        code = "NONE_NONE"; // an invalid request, refused before going anywhere
    else if (r.connect_like())
        code = "TCP_TUNNEL";
    else
        code = "TCP_MISS"; // ferry caches nothing
    if (r.status == 0) code += "_ABORTED";
    return code;
}

void append_squid_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                       std::string& out) {
    using namespace std::chrono;
    const auto elapsed = end - r.started_steady;
    const auto ended = r.started + duration_cast<system_clock::duration>(elapsed);
    const auto since_epoch = duration_cast<milliseconds>(ended.time_since_epoch()).count();
    const auto it = std::back_inserter(out);
    fmt::format_to(it, "{:9}.{:03} {:6} {} {}/{:03} {} ", since_epoch / 1000, since_epoch % 1000,
                   duration_cast<milliseconds>(elapsed).count(), client_address(r.client),
                   squid_result_code(r), r.status, r.bytes_to_client);
    const bool parsed = !r.method.empty() && r.method != "-";
    if (parsed)
        append_url_escaped(r.method, out);
    else
        out.append("NONE");
    out.push_back(' ');
    if (!r.target.empty())
        append_url_escaped(r.target, out);
    else
        out.append(parsed ? "-" : "error:invalid-request");
    out.push_back(' ');
    append_field(r.user, out);
    out.push_back(' ');
    if (r.upstream_address.empty())
        out.append("HIER_NONE/-");
    else
        fmt::format_to(it, "{}/{}", r.upstream_parent ? "FIRST_UP_PARENT" : "HIER_DIRECT",
                       r.upstream_address);
    out.push_back(' ');
    append_field(r.content_type, out);
    append_tunnel_tls_fields(r, false, out); // CONNECT tunnels only: " sni=… alpn=…"
    out.push_back('\n');
}

} // namespace ferry::observe

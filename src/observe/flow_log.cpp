#include "observe/flow_log.h"

#include "observe/tunnel_fields.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {
void header(std::uint64_t connection, std::string& out) {
    fmt::format_to(std::back_inserter(out), "--- connection #{} ---\n", connection);
}
} // namespace

void append_flow_connected(std::uint64_t connection, std::string_view client, std::string& out) {
    header(connection, out);
    fmt::format_to(std::back_inserter(out), "[CLI connected to {}]\n", client);
}

void append_flow_exchange(const exchange_record& r, std::string& out) {
    auto it = std::back_inserter(out);
    if (r.stream != 0)
        fmt::format_to(it, "--- connection #{} stream {} ---\n", r.connection, r.stream);
    else
        header(r.connection, out);
    fmt::format_to(it, "CLI ==> PRX --- SRV\n > {}\n > {}\n",
                   r.request_line.empty() ? "-" : r.request_line,
                   r.user_agent.empty() ? "-" : r.user_agent);
    if (!r.retried_after.empty())
        fmt::format_to(it,
                       "[SRV connection to {} reused]\n"
                       "[SRV {} closed the reused connection before answering: retrying]\n",
                       r.retried_after, r.retried_after);
    if (!r.upstream.empty()) {
        if (r.upstream_new)
            fmt::format_to(it, "[SRV connected to {}]\n", r.upstream);
        else
            fmt::format_to(it, "[SRV connection to {} reused]\n", r.upstream);
        out.append("CLI --- PRX ==> SRV\n");
        append_tunnel_tls_flow(r, out); // a CONNECT tunnel: what its client sent first
    }
    if (!r.status_line.empty()) {
        fmt::format_to(it, "CLI --- PRX <== SRV\n > {}\n > {} {} bytes\n", r.status_line,
                       r.content_type.empty() ? "-" : r.content_type, r.body_bytes);
    }
    if (r.status != 0) {
        if (r.status_line.empty()) // ferry answered by itself
            fmt::format_to(it, " > ferry answered {}{}{}\n", r.status, r.cause.empty() ? "" : ": ",
                           r.cause);
        out.append("CLI <== PRX --- SRV\n");
    } else if (!r.cause.empty()) {
        fmt::format_to(it, " > no answer: {}\n", r.cause);
    }
    if (!r.upstream.empty()) {
        if (r.upstream_fate == exchange_record::fate::kept)
            fmt::format_to(it, "[SRV connection to {} kept for reuse]\n", r.upstream);
        else if (r.upstream_fate == exchange_record::fate::closed)
            fmt::format_to(it, "[SRV disconnected from {}]\n", r.upstream);
    }
}

void append_flow_disconnected(std::uint64_t connection, std::string_view client, std::string& out) {
    header(connection, out);
    fmt::format_to(std::back_inserter(out), "[CLI disconnected from {}]\n", client);
}

} // namespace ferry::observe

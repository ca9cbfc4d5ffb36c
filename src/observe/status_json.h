// The status page's figures as plain data, and as the JSON of /api/status and of the
// /api/events ticks (docs/architecture.md, "Metrics and the admin listener"). Pure.
#pragma once

#include "observe/host_table.h"
#include "observe/timeline.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ferry::observe {

// One reload (SIGHUP), as the status page lists it.
struct reload_event {
    std::int64_t at = 0; // Unix seconds
    bool ok = false;
    std::string message;                     // "applied", or why it failed
    std::vector<std::string> changed;        // keys applied ("acl" for the rules)
    std::vector<std::string> restart_needed; // keys that changed but wait for a restart
};

struct acl_figures {
    std::size_t rule = 0; // 0: the default policy
    std::string name;
    std::uint64_t denials = 0;
    std::uint64_t auth_failures = 0;
};

struct status_snapshot {
    std::string version;
    std::int64_t now = 0, started = 0; // Unix seconds
    std::optional<std::string> config_file;
    std::vector<std::string> listen; // "http://127.0.0.1:9001"
    unsigned workers = 0;
    std::vector<reload_event> reloads; // newest first

    std::uint64_t client_connections = 0, upstream_connections = 0, parked = 0, tunnels = 0,
                  http2_connections = 0;
    std::uint64_t requests = 0, bytes_from_clients = 0, bytes_to_clients = 0;
    std::array<std::uint64_t, 6> status{}; // [0]: 000, [1..5]: 1xx..5xx
    std::uint64_t dns_hits = 0, dns_misses = 0;
    std::uint64_t pool_opened = 0, pool_reused = 0, pool_idle = 0;
    std::vector<acl_figures> acl;
    std::vector<host_row> hosts;

    // The per-second series, oldest first, the last being `series_last` (none when empty).
    std::int64_t series_last = 0;
    std::vector<second_sample> series;
};

// The status class names, in the order of second_sample::status: "000", "1xx".."5xx".
inline constexpr std::array<std::string_view, 6> status_class_names{"000", "1xx", "2xx",
                                                                    "3xx", "4xx", "5xx"};

double dns_hit_rate(const status_snapshot& s);

// /api/status: everything, with "series" when the snapshot has one; with `sample` (the
// second `sample_second`), a tick of /api/events: its figures as "sample".
std::string status_json(const status_snapshot& s, const second_sample* sample = nullptr,
                        std::int64_t sample_second = 0);

} // namespace ferry::observe

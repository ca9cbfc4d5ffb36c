// Per-origin figures for the status page (issue 16): requests, bytes each way, errors, and new
// against reused upstream connections, by "host:port". One table per worker, written by the
// worker, read by the admin listener under the table's mutex — uncontended but for the moment
// a page is rendered: one lock and one ordered-map lookup (about 10 string comparisons at
// 1,000 hosts) per exchange. A node is allocated only when a host first appears; past
// `max_hosts` every new host is counted in the row "(other)".
#pragma once

#include "observe/exchange_record.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::observe {

struct host_figures {
    std::uint64_t requests = 0;
    std::uint64_t bytes_from_clients = 0;
    std::uint64_t bytes_to_clients = 0;
    std::uint64_t errors = 0; // answered 5xx, or not answered at all
    std::uint64_t new_connections = 0;
    std::uint64_t reused_connections = 0;
    void add(const host_figures& o);
};

struct host_row {
    std::string host;
    host_figures figures;
};

inline constexpr std::string_view other_hosts = "(other)";

// The origin an exchange was for, as "host:port" (lower case, an IPv6 literal in brackets),
// written into `out`; false when the request named none (a malformed one). Through a parent,
// the origin, not the parent.
bool exchange_host(const exchange_record& r, std::string& out);

// What one exchange adds to its host's row.
host_figures exchange_figures(const exchange_record& r);

class host_table {
public:
    explicit host_table(std::size_t max_hosts = 1000) : max_hosts_(max_hosts) {}

    void record(const exchange_record& r);
    // Adds every row into `merged`. Any thread.
    void add_to(std::map<std::string, host_figures, std::less<>>& merged) const;

private:
    std::size_t max_hosts_;
    mutable std::mutex mutex_;
    std::map<std::string, host_figures, std::less<>> rows_;
    std::string key_; // scratch: its capacity is kept between exchanges
};

// The workers' tables merged, the `n` busiest rows: by requests, then bytes both ways.
std::vector<host_row> top_hosts(std::span<const host_table* const> tables, std::size_t n);

} // namespace ferry::observe

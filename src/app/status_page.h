// The status page's data and HTML (issue 16): the workers' counters, timelines and host
// tables gathered into one observe::status_snapshot on the admin listener's loop, and the
// tables and flow blocks the server renders into web/status.html and web/flow.html, so that
// both pages work with JavaScript off.
#pragma once

#include "app/worker.h"
#include "observe/flow_ring.h"
#include "observe/status_json.h"

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

// What the server knows of itself besides the workers.
struct process_facts {
    std::int64_t started = 0;        // Unix seconds
    std::vector<std::string> listen; // the bound listeners: "http://127.0.0.1:9001"
    const std::deque<observe::reload_event>* reloads = nullptr; // newest first
    std::uint64_t admin_clients = 0;
};

// The time now, Unix seconds.
std::int64_t unix_now();

// Pool and DNS figures summed over the workers (for /metrics too).
observe::upstream_figures gather_upstream(const std::vector<std::unique_ptr<worker>>& workers);

// Everything the status page shows, at `now` (Unix seconds); the 900-second series when
// `with_series`.
observe::status_snapshot gather_status(const std::vector<std::unique_ptr<worker>>& workers,
                                       const config::settings& running, const process_facts& facts,
                                       std::int64_t now, bool with_series);

// The merged figures of one second.
observe::second_sample gather_second(const std::vector<std::unique_ptr<worker>>& workers,
                                     std::int64_t second);

// Text made safe for HTML content and attribute values.
void append_html_escaped(std::string_view text, std::string& out);

// The status page's tables (for <!-- ferry:tables -->).
std::string status_tables_html(const observe::status_snapshot& s);
// The flow page's blocks (for <!-- ferry:flow -->), oldest first.
std::string flow_blocks_html(const std::vector<observe::flow_entry>& entries);

// `page` with `marker` replaced by `content` (before </body>, or at the end, when the page
// has no marker).
std::string fill_marker(std::string_view page, std::string_view marker, std::string_view content);

} // namespace ferry::app

#include "observe/flow_ring.h"

#include "observe/flow_log.h"
#include "observe/host_table.h"
#include "observe/log_escape.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::observe {

flow_ring::flow_ring(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

void flow_ring::record(const exchange_record& r, std::int64_t time_ms) {
    std::lock_guard lock(mutex_);
    ++last_;
    auto& s = slots_[last_ % slots_.size()];
    s.seq = last_;
    s.time_ms = time_ms;
    s.record = r; // copy-assignment: each string keeps its capacity
}

std::uint64_t flow_ring::last() const {
    std::lock_guard lock(mutex_);
    return last_;
}

std::vector<flow_entry> flow_ring::since(std::uint64_t after, std::size_t limit) const {
    std::vector<slot> picked;
    {
        std::lock_guard lock(mutex_);
        const std::uint64_t held = std::min<std::uint64_t>(last_, slots_.size());
        std::uint64_t first = std::max(after + 1, last_ - held + 1);
        if (last_ >= first && last_ - first + 1 > limit) first = last_ - limit + 1;
        for (auto seq = first; seq <= last_; ++seq)
            picked.push_back(slots_[seq % slots_.size()]);
    }
    std::vector<flow_entry> out;
    out.reserve(picked.size());
    std::string host;
    for (auto& p : picked) {
        exchange_record& r = p.record;
        r.request_line = mask_userinfo(r.request_line);
        flow_entry e;
        e.seq = p.seq;
        e.time_ms = p.time_ms;
        e.connection = r.connection;
        e.stream = r.stream;
        e.client = r.client;
        e.method = r.method;
        if (exchange_host(r, host)) e.host = host;
        e.status = r.status;
        e.user = r.user;
        append_flow_exchange(r, e.block);
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

// Masks the userinfo of the authority that starts at `begin` in `s` ("user:pw@host" →
// "***@host"); the position after what it looked at.
std::size_t mask_authority(std::string& s, std::size_t begin) {
    const auto end = std::min(s.find_first_of("/?# \t", begin), s.size());
    if (end <= begin) return begin;
    const auto at = s.rfind('@', end - 1);
    if (at == std::string::npos || at < begin) return end;
    s.replace(begin, at - begin, "***");
    return begin + 3;
}

} // namespace

std::string mask_userinfo(std::string_view line) {
    std::string out(line);
    // Every absolute URL in the line: a refused line may put its target anywhere (two spaces,
    // a tab), and it is shown all the same.
    for (auto s = out.find("://"); s != std::string::npos; s = out.find("://", s))
        s = mask_authority(out, s + 3);
    // An authority-form target (CONNECT user:pw@host:443): the first word after the method.
    const auto method_end = out.find_first_of(" \t");
    if (method_end == std::string::npos) return out;
    const auto target = out.find_first_not_of(" \t", method_end);
    if (target == std::string::npos) return out;
    const auto target_end = std::min(out.find_first_of(" \t", target), out.size());
    if (out.substr(target, target_end - target).find("://") == std::string::npos)
        mask_authority(out, target);
    return out;
}

void append_flow_entry_json(const flow_entry& e, std::string& out) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"seq":{},"time":{},"connection":{},"stream":{},"client":)", e.seq,
                   e.time_ms, e.connection, e.stream);
    append_json_string(e.client, out);
    out += R"(,"method":)";
    append_json_string(e.method, out);
    out += R"(,"host":)";
    append_json_string(e.host, out);
    fmt::format_to(it, R"(,"status":{},"user":)", e.status);
    append_json_string(e.user, out);
    out += R"(,"block":)";
    append_json_string(e.block, out);
    out += '}';
}

} // namespace ferry::observe

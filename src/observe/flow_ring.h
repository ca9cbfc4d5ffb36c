// The last N exchanges, for the live flow view (/flow, /api/flow, /api/flow/events): one ring
// per process, written by every worker under its mutex, read by the admin listener. A slot
// keeps a copy of the exchange's record (its strings reuse their capacity: no allocation once
// the ring has seen exchanges of that size); the flow-log block is written when it is read.
// Each entry has a sequence number, 1 for the first exchange, one more for each after.
//
// What a block holds comes from the record: request and status lines, User-Agent, the
// upstream; never a header's value such as Authorization, Proxy-Authorization or Cookie. The
// request line is shown with any userinfo of its target masked (`http://***@host/`): the
// parser refuses such a target, but the refused request still has its line logged.
#pragma once

#include "observe/exchange_record.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::observe {

struct flow_entry {
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0; // Unix time the exchange ended, milliseconds
    std::uint64_t connection = 0;
    std::uint32_t stream = 0;
    std::string client; // "127.0.0.1:5555"
    std::string method;
    std::string host; // "example.test:80" ("" when the request named none)
    int status = 0;
    std::string user;  // "" when none
    std::string block; // the flow log's block for the exchange
};

class flow_ring {
public:
    explicit flow_ring(std::size_t capacity);
    flow_ring(const flow_ring&) = delete;
    flow_ring& operator=(const flow_ring&) = delete;

    // Any worker.
    void record(const exchange_record& r, std::int64_t time_ms);
    // The entries after `after` still in the ring, oldest first, at most `limit` (the newest
    // of them). Any thread.
    std::vector<flow_entry> since(std::uint64_t after, std::size_t limit) const;
    // The sequence number of the newest entry; 0 before the first.
    std::uint64_t last() const;
    std::size_t capacity() const { return slots_.size(); }

private:
    struct slot {
        std::uint64_t seq = 0;
        std::int64_t time_ms = 0;
        exchange_record record;
    };
    mutable std::mutex mutex_;
    std::vector<slot> slots_;
    std::uint64_t last_ = 0;
};

// `line` with the userinfo of its request-target masked: "GET http://u:p@h/ HTTP/1.1" →
// "GET http://***@h/ HTTP/1.1".
std::string mask_userinfo(std::string_view line);

// One entry as a line of JSON (the /api/flow shape).
void append_flow_entry_json(const flow_entry& e, std::string& out);

} // namespace ferry::observe

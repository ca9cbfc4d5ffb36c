// Reads one message head from a stream into its buffer, with deadlines.
#pragma once

#include "http/head_scanner.h"
#include "net/io.h"

#include <chrono>

namespace ferry::http {

enum class head_read_status {
    complete,     // head_end bytes of buffer.data() are the head
    closed,       // the peer closed (or reset) before sending any byte
    cut_short,    // the peer closed in the middle of the head
    idle_timeout, // nothing arrived within the first-byte timeout
    timeout,      // the head did not complete in time after its first byte
    failed,       // another socket error
    malformed,    // the scanner's verdict: see scan
};

struct head_read_result {
    head_read_status status = head_read_status::complete;
    scan_result scan; // with complete or malformed
    net::error_code error;
};

struct head_timeouts {
    std::chrono::milliseconds first_byte; // wait for the head to start
    std::chrono::milliseconds whole_head; // from its first byte to its end
};

boost::asio::awaitable<head_read_result> read_head(net::inbound in, head_scanner& scanner,
                                                   head_timeouts timeouts);

} // namespace ferry::http

#include "http/read_head.h"

namespace ferry::http {

namespace asio = boost::asio;

asio::awaitable<head_read_result> read_head(net::inbound in, head_scanner& scanner,
                                            head_timeouts timeouts) {
    head_read_result result;
    scanner.reset();
    bool started = !in.buffer.empty();
    net::steady_time head_deadline = in.now() + timeouts.whole_head;
    for (;;) {
        if (!in.buffer.empty()) {
            result.scan = scanner.scan(in.buffer.data());
            if (result.scan.status == scan_status::complete) co_return result;
            if (result.scan.status != scan_status::need_more) {
                result.status = head_read_status::malformed;
                co_return result;
            }
        }
        auto timeout = started ? std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
                                     head_deadline - in.now(), net::steady_time::duration{}))
                               : timeouts.first_byte;
        std::size_t got = 0;
        auto ec = co_await net::read_some(in, timeout, got);
        if (ec) {
            result.error = ec;
            if (ec == asio::error::timed_out)
                result.status =
                    started ? head_read_status::timeout : head_read_status::idle_timeout;
            else if (ec == asio::error::eof || ec == asio::error::connection_reset)
                result.status = started ? head_read_status::cut_short : head_read_status::closed;
            else
                result.status = head_read_status::failed;
            co_return result;
        }
        if (!started) {
            started = true;
            head_deadline = in.now() + timeouts.whole_head;
        }
    }
}

} // namespace ferry::http

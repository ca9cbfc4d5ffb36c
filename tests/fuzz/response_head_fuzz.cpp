// Response heads as a session reads them from an origin: head_scanner in fuzzer-chosen
// pieces, parse_response_head, the framing decision for the request's method, and the head
// ferry writes to its client. Invariants: the scanner's verdict does not depend on the
// split; the head ferry sends parses again, strictly, and declares the framing ferry will
// use for the body (or none where the status has none).
#include "fuzz_check.h"
#include "split_scan.h"

#include "http/framing.h"
#include "http/head_parser.h"
#include "http/head_scanner.h"
#include "http/response_plan.h"
#include "http/rewrite.h"

#include <string>

namespace {

using namespace ferry;

http::response_head reparse(std::string_view out) {
    http::head_scanner scanner(out.size() + 1, out.size() + 1, false);
    auto r = scanner.scan(out);
    FUZZ_CHECK(r.status == http::scan_status::complete);
    FUZZ_CHECK(r.head_end == out.size());
    http::response_head again;
    FUZZ_CHECK(http::parse_response_head(out, again) == http::parse_error::none);
    FUZZ_CHECK(again.minor == 1);
    FUZZ_CHECK(http::count_fields(again, "content-length") <= 1);
    FUZZ_CHECK(http::count_fields(again, "transfer-encoding") <= 1);
    return again;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::input in(data, size);
    const std::uint8_t control = in.byte();
    const std::uint8_t split = in.byte();
    const std::string_view bytes = in.rest();
    const std::size_t max_head = (control & 1) ? 256 : 64 * 1024;
    static constexpr std::string_view methods[] = {"GET", "HEAD", "POST", "OPTIONS"};
    const std::string_view method = methods[(control >> 1) & 3];
    const bool client_11 = (control & 8) == 0;
    const bool client_close = (control & 16) != 0;

    const auto [once, begin] = fuzz::scan_both_ways(bytes, max_head, max_head, split);
    if (once.status != http::scan_status::complete) return 0;

    const std::string store(bytes.substr(begin, once.head_end - begin));
    http::response_head resp;
    if (http::parse_response_head(store, resp) != http::parse_error::none) return 0;
    FUZZ_CHECK(resp.status >= 100 && resp.status <= 599);

    std::string out;
    if (resp.status == 101) {
        http::write_switch_response(resp, "ferry", out);
        auto again = reparse(out);
        FUZZ_CHECK(again.status == 101);
        return 0;
    }
    if (resp.status < 200) {
        http::write_interim_response(resp, "ferry", out);
        auto again = reparse(out);
        FUZZ_CHECK(again.status == resp.status);
        return 0;
    }

    // As session::relay_response builds the client's head.
    http::body_framing framing;
    if (http::response_framing(resp, method, framing) != http::framing_error::none) return 0;
    if (method == "HEAD" || http::status_has_no_body(resp.status))
        FUZZ_CHECK(framing.kind == http::body_kind::none);
    const auto plan = http::plan_response(resp, framing, client_11, client_close);
    http::response_options options;
    options.framing = plan.framing;
    options.close = plan.close;
    options.keep_alive_10 = plan.keep_alive_10;
    options.pseudonym = "ferry";
    options.date = "Fri, 27 Nov 2026 12:00:00 GMT";
    http::write_forward_response(resp, options, out);
    auto again = reparse(out);
    FUZZ_CHECK(again.status == resp.status);

    // The client, reading what ferry sent for this request, finds the same body framing.
    http::body_framing reread;
    FUZZ_CHECK(http::response_framing(again, method, reread) == http::framing_error::none);
    switch (framing.kind) {
    case http::body_kind::none:
        FUZZ_CHECK(reread.kind == http::body_kind::none);
        break;
    case http::body_kind::length:
        FUZZ_CHECK(reread.kind == http::body_kind::length && reread.length == framing.length);
        break;
    case http::body_kind::chunked:
    case http::body_kind::until_close:
        FUZZ_CHECK(reread.kind ==
                   (client_11 ? http::body_kind::chunked : http::body_kind::until_close));
        // A body read until close ends only when ferry closes the client connection.
        FUZZ_CHECK(client_11 || plan.close);
        break;
    }
    return 0;
}

// Request heads as a session reads them: head_scanner over bytes arriving in fuzzer-chosen
// pieces, parse_request_head, the framing and routing decision, and the head ferry writes
// upstream. Invariants: the scanner's verdict does not depend on how the bytes were split;
// a head ferry forwards (directly or to a parent) parses again, strictly, to the same
// request framing and ends exactly where the scanner says.
#include "fuzz_check.h"
#include "split_scan.h"

#include "http/framing.h"
#include "http/head_parser.h"
#include "http/head_scanner.h"
#include "http/rewrite.h"
#include "proxy/decision.h"

#include <string>

namespace {

using namespace ferry;

// The head ferry sends on must read back as one request with the framing ferry chose.
void check_forwarded(std::string_view out, const http::body_framing& framing) {
    http::head_scanner scanner(out.size() + 1, out.size() + 1, false);
    auto r = scanner.scan(out);
    FUZZ_CHECK(r.status == http::scan_status::complete);
    FUZZ_CHECK(r.head_end == out.size());
    http::request_head again;
    FUZZ_CHECK(http::parse_request_head(out, out.size(), again) == http::parse_error::none);
    http::body_framing reread;
    FUZZ_CHECK(http::request_framing(again, reread) == http::framing_error::none);
    const bool had_body = framing.kind == http::body_kind::chunked ||
                          (framing.kind == http::body_kind::length && framing.length > 0);
    const bool has_body = reread.kind == http::body_kind::chunked ||
                          (reread.kind == http::body_kind::length && reread.length > 0);
    FUZZ_CHECK(had_body == has_body);
    if (had_body) {
        FUZZ_CHECK(reread.kind == framing.kind);
        FUZZ_CHECK(reread.length == framing.length);
    }
    FUZZ_CHECK(http::count_fields(again, "content-length") <= 1);
    FUZZ_CHECK(http::count_fields(again, "transfer-encoding") <= 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::input in(data, size);
    const std::uint8_t limits = in.byte();
    const std::uint8_t split = in.byte();
    const std::string_view bytes = in.rest();
    // Small limits now and then, so that the size checks are reached too.
    const std::size_t max_head = (limits & 1) ? 512 : 64 * 1024;
    const std::size_t max_target = (limits & 2) ? 64 : 8 * 1024;

    const auto [once, begin] = fuzz::scan_both_ways(bytes, max_head, max_target + 64, split);
    if (once.status != http::scan_status::complete) return 0;
    FUZZ_CHECK(once.head_end <= bytes.size());
    FUZZ_CHECK(begin <= once.head_end);

    // As the session keeps it: the head's own copy, leading empty lines dropped.
    const std::string store(bytes.substr(begin, once.head_end - begin));
    http::request_head req;
    if (http::parse_request_head(store, max_target, req) != http::parse_error::none) return 0;
    FUZZ_CHECK(!req.method.empty());
    FUZZ_CHECK(!req.target.empty());
    FUZZ_CHECK(req.target.size() <= max_target);
    FUZZ_CHECK(req.minor == 0 || req.minor == 1);

    const std::uint16_t ports[] = {443};
    auto d = proxy::decide(req, {}, ports);
    if (d.kind != proxy::action::forward) return 0;
    FUZZ_CHECK(!d.target.where.host.empty());
    FUZZ_CHECK(d.target.where.port != 0);

    http::framing_fields fields;
    if (d.framing.kind == http::body_kind::length) fields.content_length = d.framing.length;
    if (d.framing.kind == http::body_kind::chunked) fields.chunked = true;
    // With the forwarding fields (issue 18) the fuzzed request's own X-Forwarded-For,
    // Forwarded and X-Ferry-Loop are rewritten; the result must still parse as the same request.
    http::request_options options{std::string_view("ferry")};
    options.forwarded_for = http::forwarded_for_mode::on;
    options.forwarded = true;
    options.trusted = (split & 1) != 0;
    options.client = "192.0.2.1";
    options.by = "127.0.0.1";
    options.by_port = 3128;
    std::string out;
    http::write_forward_request(req, d.target, fields, options, out);
    check_forwarded(out, d.framing);
    out.clear();
    options.loop_token = "0123456789abcdef";
    http::write_parent_request(req, d.target, fields, options, "Basic Zm9vOmJhcg==", out);
    check_forwarded(out, d.framing);
    return 0;
}

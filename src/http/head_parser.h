// Strict parsing of a complete request or response head (RFC 9112 §2–§5).
// Input is the head as found by head_scanner: start line, field lines, empty line, each
// ending in CRLF. Whatever the RFC lets a recipient "be lenient" about, ferry rejects:
// a proxy that reads a message differently from the next hop is a smuggling hole.
#pragma once

#include "http/head.h"

#include <cstddef>
#include <string_view>

namespace ferry::http {

enum class parse_error {
    none,
    bad_start_line,      // not "METHOD SP target SP version" / "version SP status [SP reason]"
    bad_method,          // empty or not a token
    bad_target,          // empty or characters outside VCHAR
    target_too_long,     // → 414
    bad_version,         // not HTTP/d.d
    unsupported_version, // HTTP/0.x, HTTP/2+ → 505
    bad_status,          // not three digits 100–599
    bare_cr,             // CR not followed by LF
    obs_fold,            // a line starting with SP/HTAB (RFC 9112 §5.2)
    empty_field_name,    // ": value"
    bad_field_name,      // not a token, or no colon
    space_before_colon,  // "Name : value" (RFC 9112 §5.1: MUST reject)
    bad_field_value,     // NUL or another control character in a value
    too_many_fields,
};

std::string_view describe(parse_error e);

// One field line without its CRLF; shared with chunked trailers.
parse_error parse_field_line(std::string_view line, field& out);

parse_error parse_request_head(std::string_view head, std::size_t max_target, request_head& out);
parse_error parse_response_head(std::string_view head, response_head& out);

} // namespace ferry::http

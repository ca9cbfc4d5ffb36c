// Escaping of untrusted bytes (request targets, User-Agent, Referer, user names) for the
// access-log formats, so that a field never spills into the next one or the next line.
#pragma once

#include <string>
#include <string_view>

namespace ferry::observe {

// A JSON string, quotes included. `"` and `\` are backslash-escaped, control bytes (and DEL)
// become \u00XX, valid UTF-8 is kept as it is, and every byte that is not part of a valid
// UTF-8 sequence (stray continuation, overlong form, surrogate, above U+10FFFF, truncated)
// becomes U+FFFD (written \ufffd): the output is always valid JSON and valid UTF-8.
void append_json_string(std::string_view text, std::string& out);

// As nginx escapes variables in its access log: `"`, `\`, bytes below 0x20 and from 0x7F
// up become \xHH (upper-case hex); everything else is kept.
void append_nginx_escaped(std::string_view text, std::string& out);

// Percent-encoding of bytes up to and including space, and from 0x7F up (upper-case hex),
// as Squid encodes URLs and user names in its native log.
void append_url_escaped(std::string_view text, std::string& out);

// The length of the valid UTF-8 sequence at the start of `text`, 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text);

// The address part of a client label: "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1".
std::string_view client_address(std::string_view label);

} // namespace ferry::observe

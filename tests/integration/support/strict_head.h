// A message head read the way a strict HTTP/1.1 recipient reads it (RFC 9112 §2-§5), for
// checking what ferry forwards: the recording origin and the request tests use it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry_test {

using field_list = std::vector<std::pair<std::string, std::string>>;

// A message head as read by a strict parser.
struct strict_head {
    std::string start_line;
    field_list fields;
    std::string problem; // empty when the head is clean
};

// Parses a head ending in CRLF CRLF: every line ends in CRLF, no CR, LF or NUL inside a
// line, no obs-fold, every field line is token ":" value, no control character in a value.
// On a problem, `fields` holds the field lines read before it.
strict_head parse_strict_head(std::string_view head);

// How many fields carry `name`, and the first one's value ("" when none); names compare
// case-insensitively.
int count_fields(const field_list& fields, std::string_view name);
std::string field_value(const field_list& fields, std::string_view name);

} // namespace ferry_test

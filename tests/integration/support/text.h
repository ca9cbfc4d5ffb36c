// Text helpers for raw-byte tests and their failure messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry_test {

// Control bytes made visible, long texts shortened, for failure messages.
std::string printable(std::string_view s, std::size_t max = 800);

// What matters in ferry's stderr: a sanitizer's report from its first line, else the end.
std::string tail(std::string_view s, std::size_t n = 1500);

// ASCII case-insensitive equality (field names, tokens).
bool iequal(std::string_view a, std::string_view b);

// `s` without leading and trailing optional whitespace (SP, HTAB; RFC 9110 §5.6.3).
std::string_view trim(std::string_view s);

// Length of the complete chunked body at the start of `raw` (last chunk, trailers and the
// final CRLF included), or npos when it is not complete or not well-formed.
std::size_t chunked_length(std::string_view raw);

// How many times `text` occurs in `haystack` (overlapping ones counted): a line ferry says
// once more after a reload.
int count_in(const std::string& haystack, const std::string& text);

} // namespace ferry_test

// Raw request heads for tests that speak HTTP/1.1 to ferry over a tcp_stream: absolute-form
// target to a test origin, its Host field, then the given field lines and the empty line.
#pragma once

#include "support/origin.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry_test {

// `extra`: field lines, each ending in CRLF, placed after Host (a body, if any, is sent apart).
std::string request(std::string_view method, std::string_view path, const test_origin& origin,
                    std::string_view extra = {}, std::string_view version = "HTTP/1.1");

std::string get(const test_origin& origin, std::string_view path, std::string_view extra = {},
                std::string_view version = "HTTP/1.1");

// GET /size/N: the origin answers N pattern bytes (support/socket_io.h, pattern()).
std::string get(const test_origin& origin, std::size_t size);

} // namespace ferry_test

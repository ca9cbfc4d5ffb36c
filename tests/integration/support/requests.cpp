#include "support/requests.h"

#include <fmt/format.h>

namespace ferry_test {

std::string request(std::string_view method, std::string_view path, const test_origin& origin,
                    std::string_view extra, std::string_view version) {
    return fmt::format("{} {} {}\r\nHost: {}\r\n{}\r\n", method, origin.url(path), version,
                       origin.authority(), extra);
}

std::string get(const test_origin& origin, std::string_view path, std::string_view extra,
                std::string_view version) {
    return request("GET", path, origin, extra, version);
}

std::string get(const test_origin& origin, std::size_t size) {
    return get(origin, fmt::format("/size/{}", size));
}

} // namespace ferry_test

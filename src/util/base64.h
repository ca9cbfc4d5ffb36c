// Base64 (RFC 4648 §4, with padding), for Basic credentials (RFC 7617).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::util {

std::string base64_encode(std::string_view bytes);

// Empty when `text` is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace ferry::util

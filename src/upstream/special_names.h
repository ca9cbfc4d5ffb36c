// Names answered without asking DNS (RFC 6761 §6.3, §6.4): "localhost" and its subdomains
// are loopback, "invalid" and its subdomains never exist.
#pragma once

#include <string_view>

namespace ferry::upstream {

enum class special_name { none, loopback, invalid };

special_name classify_name(std::string_view host);

} // namespace ferry::upstream

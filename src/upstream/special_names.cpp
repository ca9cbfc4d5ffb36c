#include "upstream/special_names.h"

#include "http/chars.h"

namespace ferry::upstream {

namespace {
bool is_or_under(std::string_view host, std::string_view label) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1); // absolute name
    if (http::iequals(host, label)) return true;
    if (host.size() <= label.size() + 1) return false;
    auto tail = host.substr(host.size() - label.size() - 1);
    return tail.front() == '.' && http::iequals(tail.substr(1), label);
}
} // namespace

special_name classify_name(std::string_view host) {
    if (is_or_under(host, "localhost")) return special_name::loopback;
    if (is_or_under(host, "invalid")) return special_name::invalid;
    return special_name::none;
}

} // namespace ferry::upstream

// Parsed message heads. Views point into storage owned by the caller (the session keeps
// one buffer per direction and reuses it across requests).
#pragma once

#include <string_view>
#include <vector>

namespace ferry::http {

struct field {
    std::string_view name;
    std::string_view value; // without surrounding whitespace
};

struct request_head {
    std::string_view method;
    std::string_view target;
    int minor = 1; // HTTP/1.<minor>; 0 or 1 (1.2+ is handled as 1.1, RFC 9110 §2.5); 2 for a
                   // request that came over HTTP/2 (frontend/http2_request.h)
    std::vector<field> fields;
    std::string_view request_line; // without CRLF, for logs
};

struct response_head {
    int minor = 1;
    int status = 0;
    std::string_view reason;
    std::vector<field> fields;
    std::string_view status_line; // without CRLF, for logs
};

// First value of a field, or empty when absent.
template <class Head>
std::string_view find_field(const Head& head, std::string_view name);

// How many field lines carry this name.
template <class Head>
int count_fields(const Head& head, std::string_view name);

// Whether a list-valued field (Connection, say) carries this option, case-insensitively.
template <class Head>
bool has_option(const Head& head, std::string_view field_name, std::string_view option);

} // namespace ferry::http

#include "http/chars.h"

namespace ferry::http {

template <class Head>
std::string_view find_field(const Head& head, std::string_view name) {
    for (const auto& f : head.fields)
        if (iequals(f.name, name)) return f.value;
    return {};
}

template <class Head>
int count_fields(const Head& head, std::string_view name) {
    int n = 0;
    for (const auto& f : head.fields)
        if (iequals(f.name, name)) ++n;
    return n;
}

} // namespace ferry::http

namespace ferry::http {

template <class Head>
bool has_option(const Head& head, std::string_view field_name, std::string_view option) {
    bool found = false;
    for (const auto& f : head.fields) {
        if (!iequals(f.name, field_name)) continue;
        for_each_list_element(f.value, [&](std::string_view element) {
            found = iequals(element, option);
            return !found;
        });
        if (found) return true;
    }
    return false;
}

} // namespace ferry::http

#include "http/upgrade.h"

#include "http/chars.h"

namespace ferry::http {

namespace {

// Calls f(protocol) for each protocol of every Upgrade line, in order, while f returns true.
template <class Head, class F>
void for_each_protocol(const Head& head, F&& f) {
    bool go_on = true;
    for (const auto& field : head.fields) {
        if (!iequals(field.name, "upgrade")) continue;
        for_each_list_element(field.value, [&](std::string_view protocol) {
            go_on = f(protocol);
            return go_on;
        });
        if (!go_on) return;
    }
}

template <class Head>
bool names_a_protocol(const Head& head) {
    bool any = false;
    for_each_protocol(head, [&](std::string_view) {
        any = true;
        return false;
    });
    return any;
}

} // namespace

bool forwards_upgrade(const request_head& head, bool has_body) {
    return head.minor >= 1 && !has_body && has_option(head, "connection", "upgrade") &&
           names_a_protocol(head);
}

bool switch_was_offered(const request_head& request, const response_head& response) {
    if (!names_a_protocol(response)) return false;
    bool all_offered = true;
    for_each_protocol(response, [&](std::string_view chosen) {
        bool offered = false;
        for_each_protocol(request, [&](std::string_view protocol) {
            offered = iequals(protocol, chosen);
            return !offered;
        });
        all_offered = offered;
        return all_offered;
    });
    return all_offered;
}

} // namespace ferry::http

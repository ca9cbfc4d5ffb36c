// The options about what leaves ferry (issue 18): the forwarding fields ferry adds (Via,
// X-Forwarded-For, Forwarded) and which destinations it refuses.
#include "config/option_rows.h"

namespace ferry::config::rows {

namespace {

// --via off (via = false in the file) removes Via; on puts ferry's own name back; any other
// value is the pseudonym.
option via_switch(option o) {
    o.apply = [apply = o.apply](settings& s, std::string_view v) -> std::string {
        if (v == "off" || v == "false") {
            s.via = false;
            return {};
        }
        if (v == "on" || v == "true") v = "ferry";
        auto problem = apply(s, v);
        if (problem.empty()) s.via = true;
        return problem;
    };
    o.copy = [copy = o.copy](const settings& from, settings& to) {
        copy(from, to);
        to.via = from.via;
    };
    o.same = [same = o.same](const settings& a, const settings& b) {
        return same(a, b) && a.via == b.via;
    };
    o.show = [](const settings& s) { return s.via ? s.pseudonym : std::string("off"); };
    return o;
}

} // namespace

std::vector<option> egress_options() {
    return {
        via_switch(row({"--via", 0, "via", k::text, "NAME|on|off",
                        "Pseudonym in Via and Server fields; off: no Via (Server stays)", live},
                       &settings::pseudonym, read_pseudonym)),
        row({"--forwarded-for", 0, "forwarded_for", k::text, "on|off|truncate|delete",
             "X-Forwarded-For: the client's IP (on), \"unknown\" (off), appended for a trusted "
             "forwarder and replacing otherwise; the IP alone (truncate); none (delete)",
             live},
            &settings::forwarded_for,
            one_of({"on", "off", "truncate", "delete"},
                   R"(expected "on", "off", "truncate" or "delete")")),
        row({"--forwarded", 0, "forwarded", k::on_off, "on|off",
             "Add an RFC 7239 Forwarded field (for=, by=, proto=)", live},
            &settings::forwarded, read_on_off),
        row({"--trusted-forwarders", 0, "trusted_forwarders", k::list, "CIDR",
             "Clients whose X-Forwarded-For and Forwarded are extended, not replaced; "
             "repeatable or comma-separated",
             live},
            &settings::trusted_forwarders, read_trusted_forwarders),
        row({"--private-destinations", 0, "private_destinations", k::text, "allow|deny",
             "deny: refuse private destinations too, unless an access rule names them", live},
            &settings::private_destinations,
            one_of({"allow", "deny"}, R"(expected "allow" or "deny")")),
        row({"--safe-destinations", 0, "safe_destinations", k::text, "auto|on|off",
             "Deny loopback/link-local/metadata destinations (auto: a listener off loopback)",
             live},
            &settings::safe_destinations,
            one_of({"auto", "on", "off"}, R"(expected "auto", "on" or "off")")),
    };
}

} // namespace ferry::config::rows

// [[acl]] conditions from list files (issue 18): a file entry means what the same entry in
// the inline list means, host by host and address by address, and the condition holds when
// the inline list or a file matches.
#include "policy/acl.h"

#include "config/list_file.h"
#include "config/values.h"

#include <gtest/gtest.h>

namespace ferry::policy {
namespace {

namespace asio = boost::asio;
using config::acl_rule;
using kind = acl_verdict::kind;

// The entries as a dest_file (or client_file) of a rule.
config::acl_rule::list_files from_file(std::string_view text,
                                       config::list_kind k = config::list_kind::destinations) {
    auto names = std::make_shared<util::domain_set>();
    auto networks = std::make_shared<util::cidr_set>();
    EXPECT_EQ(config::parse_list(text, "list.txt", k, *names, *networks), "");
    networks->seal();
    names->seal();
    config::acl_rule::list_files out;
    out.files.push_back({"list.txt", 1});
    if (k == config::list_kind::destinations) out.names = std::move(names);
    out.networks = std::move(networks);
    return out;
}

acl_rule deny_rule() {
    acl_rule r;
    r.action = acl_rule::verdict::deny;
    r.name = "listed";
    return r;
}

acl_rule allow_all() {
    acl_rule r;
    r.action = acl_rule::verdict::allow;
    return r;
}

acl_request request(std::string_view host, const char* client = "127.0.0.1") {
    acl_request r;
    r.client = asio::ip::make_address(client);
    r.host = host;
    r.port = 80;
    r.method = "GET";
    return r;
}

bool denied(const std::vector<acl_rule>& rules, const acl_request& r) {
    return evaluate(rules, default_policy::loopback_only, r).what == kind::deny;
}

TEST(AclLists, AFileEntryMatchesWhatTheSameInlineEntryMatches) {
    const char* entries[] = {"example.com",   ".tracker.test", "10.0.0.0/8",     "192.0.2.7",
                             "2001:db8::/32", "::1",           "_srv.host.test", "4"};
    const char* hosts[] = {"example.com",      "www.example.com", "tracker.test",
                           "a.b.tracker.test", "nottracker.test", "10.1.2.3",
                           "11.0.0.1",         "192.0.2.7",       "192.0.2.70",
                           "2001:db8::5",      "2001:db9::",      "::1",
                           "::ffff:10.0.0.1",  "_srv.host.test",  "example.com.",
                           "1.2.3.4",          "host.4",          "com"};
    for (const char* entry : entries) {
        acl_rule inline_rule = deny_rule(), file_rule = deny_rule();
        config::direct_rule d;
        ASSERT_TRUE(config::parse_direct_rule(entry, d)) << entry;
        inline_rule.destinations.push_back(d);
        file_rule.dest_files = from_file(entry);
        for (const char* host : hosts)
            EXPECT_EQ(denied({file_rule, allow_all()}, request(host)),
                      denied({inline_rule, allow_all()}, request(host)))
                << entry << " / " << host;
    }
}

TEST(AclLists, ResolvedAddressesAreJudgedByTheFilesNetworks) {
    acl_rule rule = deny_rule();
    rule.dest_files = from_file("10.0.0.0/8\n");
    const std::vector<acl_rule> rules{rule, allow_all()};
    EXPECT_TRUE(needs_address(rules, "intranet.test")) << "a name may resolve into the list";
    EXPECT_FALSE(needs_address(rules, "10.0.0.1")) << "a literal is judged as it is";
    auto r = request("intranet.test");
    EXPECT_FALSE(denied(rules, r));
    const auto inside = asio::ip::make_address("10.1.1.1");
    const auto mapped = asio::ip::make_address("::ffff:10.1.1.1");
    const auto outside = asio::ip::make_address("11.1.1.1");
    r.address = &inside;
    EXPECT_TRUE(denied(rules, r));
    r.address = &mapped;
    EXPECT_TRUE(denied(rules, r));
    r.address = &outside;
    EXPECT_FALSE(denied(rules, r));

    acl_rule names_only = deny_rule();
    names_only.dest_files = from_file("blocked.test\n");
    EXPECT_FALSE(needs_address({names_only}, "intranet.test")) << "no networks, no lookup";
}

TEST(AclLists, TheConditionHoldsWhenTheInlineListOrAFileMatches) {
    acl_rule rule = deny_rule();
    config::direct_rule d;
    ASSERT_TRUE(config::parse_direct_rule(".inline.test", d));
    rule.destinations.push_back(d);
    rule.dest_files = from_file("file.test\n");
    const std::vector<acl_rule> rules{rule, allow_all()};
    EXPECT_TRUE(denied(rules, request("a.inline.test")));
    EXPECT_TRUE(denied(rules, request("file.test")));
    EXPECT_FALSE(denied(rules, request("other.test")));
    auto v = evaluate(rules, default_policy::loopback_only, request("file.test"));
    EXPECT_EQ(v.rule, 1u);
    EXPECT_EQ(v.reason, "ferry: denied by access rule 1 (\"listed\")");
}

TEST(AclLists, AnEmptyFileMatchesNothingRatherThanAnything) {
    // An emptied block list must not turn its deny rule into "deny everything".
    acl_rule rule = deny_rule();
    rule.dest_files = from_file("# nothing listed today\n");
    EXPECT_FALSE(denied({rule, allow_all()}, request("example.com")));
    acl_rule clients = allow_all();
    clients.client_files = from_file("", config::list_kind::clients);
    EXPECT_TRUE(denied({clients}, request("example.com"))) << "no client listed: none allowed";
}

TEST(AclLists, ClientFilesMatchTheClientAddress) {
    acl_rule rule = allow_all();
    rule.client_files = from_file("192.0.2.0/24\n2001:db8::/32\n", config::list_kind::clients);
    std::vector<rule_outcome> tried;
    const std::vector<acl_rule> rules{rule};
    EXPECT_FALSE(denied(rules, request("example.com", "192.0.2.55")));
    EXPECT_FALSE(denied(rules, request("example.com", "::ffff:192.0.2.55")));
    EXPECT_FALSE(denied(rules, request("example.com", "2001:db8::9")));
    EXPECT_TRUE(denied(rules, request("example.com", "192.0.3.1")));
    evaluate(rules, default_policy::loopback_only, request("example.com", "127.0.0.1"), tried);
    ASSERT_EQ(tried.size(), 1u);
    EXPECT_EQ(tried[0], rule_outcome::client);
    // Inline CIDRs and the file together.
    rule.clients.push_back({config::direct_rule::kind::cidr, "", "127.0.0.0", 8});
    EXPECT_FALSE(denied({rule}, request("example.com", "127.0.0.1")));
    EXPECT_FALSE(denied({rule}, request("example.com", "192.0.2.1")));
}

} // namespace
} // namespace ferry::policy

// SOCKS5's messages byte by byte (RFC 1928, RFC 1929): every field, every truncation point,
// the failures and the replies they get; the writers; the method choice and the mapping of
// an exchange's failure to a reply code.
#include "config/values.h"
#include "frontend/socks5_answers.h"
#include "frontend/socks5_messages.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace ferry::frontend::socks5 {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list)
        s += char(b);
    return s;
}

// Every proper prefix of a whole message needs more.
template <class F>
void every_prefix_needs_more(F read, const std::string& whole) {
    for (std::size_t n = 0; n < whole.size(); ++n)
        EXPECT_EQ(read(whole.substr(0, n)).status, read_status::need_more) << "prefix " << n;
}

TEST(Socks5Greeting, ReadsTheMethodsOffered) {
    const auto whole = bytes({5, 3, 0x00, 0x01, 0x02});
    every_prefix_needs_more(read_greeting, whole);
    auto g = read_greeting(whole + "trailing");
    ASSERT_EQ(g.status, read_status::done);
    EXPECT_EQ(g.used, 5u);
    EXPECT_TRUE(g.value.no_auth);
    EXPECT_TRUE(g.value.password);
    g = read_greeting(bytes({5, 1, 0x02}));
    ASSERT_EQ(g.status, read_status::done);
    EXPECT_FALSE(g.value.no_auth);
    EXPECT_TRUE(g.value.password);
    g = read_greeting(bytes({5, 2, 0x01, 0x80})); // GSSAPI and a private method only
    ASSERT_EQ(g.status, read_status::done);
    EXPECT_FALSE(g.value.no_auth);
    EXPECT_FALSE(g.value.password);
}

TEST(Socks5Greeting, TakesAll255Methods) {
    std::string whole = bytes({5, 255});
    for (int i = 0; i < 255; ++i)
        whole += char(i);
    every_prefix_needs_more(read_greeting, whole);
    const auto g = read_greeting(whole);
    ASSERT_EQ(g.status, read_status::done);
    EXPECT_EQ(g.used, 257u);
}

TEST(Socks5Greeting, RefusesAnotherVersionAndAnEmptyList) {
    for (int v : {0, 4, 6, int('G'), 0x16}) {
        const auto g = read_greeting(bytes({v}));
        EXPECT_EQ(g.status, read_status::failed) << v;
        EXPECT_EQ(g.why, problem::bad_version);
        EXPECT_EQ(reply_for(g.why), std::nullopt); // closed, nothing to answer
    }
    const auto g = read_greeting(bytes({5, 0}));
    EXPECT_EQ(g.status, read_status::failed);
    EXPECT_EQ(g.why, problem::no_methods);
}

TEST(Socks5Credentials, ReadsUserAndPassword) {
    const auto whole = bytes({1, 3, 'b', 'o', 'b', 4, 'p', 'w', 'd', '!'});
    every_prefix_needs_more(read_credentials, whole);
    const auto c = read_credentials(whole + "x");
    ASSERT_EQ(c.status, read_status::done);
    EXPECT_EQ(c.used, whole.size());
    EXPECT_EQ(c.value.user, "bob");
    EXPECT_EQ(c.value.password, "pwd!");
}

TEST(Socks5Credentials, ReadsEmptyAndLongestFields) {
    auto c = read_credentials(bytes({1, 0, 0}));
    ASSERT_EQ(c.status, read_status::done);
    EXPECT_EQ(c.value.user, "");
    EXPECT_EQ(c.value.password, "");
    std::string whole = bytes({1, 255}) + std::string(255, 'u') + char(255) + std::string(255, 'p');
    every_prefix_needs_more(read_credentials, whole);
    c = read_credentials(whole);
    ASSERT_EQ(c.status, read_status::done);
    EXPECT_EQ(c.value.user.size(), 255u);
    EXPECT_EQ(c.value.password.size(), 255u);
}

TEST(Socks5Credentials, RefusesAnotherSubnegotiationVersion) {
    for (int v : {0, 2, 5}) {
        const auto c = read_credentials(bytes({v, 1, 'a', 1, 'b'}));
        EXPECT_EQ(c.status, read_status::failed) << v;
        EXPECT_EQ(c.why, problem::bad_version);
    }
}

TEST(Socks5Request, ReadsAnIPv4Connect) {
    const auto whole = bytes({5, 1, 0, 1, 192, 0, 2, 7, 0x01, 0xbb});
    every_prefix_needs_more(read_request, whole);
    const auto r = read_request(whole + "early data");
    ASSERT_EQ(r.status, read_status::done);
    EXPECT_EQ(r.used, 10u);
    EXPECT_EQ(r.value.cmd, command::connect);
    EXPECT_EQ(r.value.host, "192.0.2.7");
    EXPECT_EQ(r.value.port, 443);
    EXPECT_EQ(authority(r.value), "192.0.2.7:443");
}

TEST(Socks5Request, ReadsAnIPv6Connect) {
    const auto whole =
        bytes({5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90});
    every_prefix_needs_more(read_request, whole);
    const auto r = read_request(whole);
    ASSERT_EQ(r.status, read_status::done);
    EXPECT_EQ(r.used, 22u);
    EXPECT_EQ(r.value.host, "2001:db8::1");
    EXPECT_EQ(r.value.port, 8080);
    EXPECT_EQ(authority(r.value), "[2001:db8::1]:8080");
}

TEST(Socks5Request, ReadsADomainName) {
    const std::string name = "Example.test";
    const auto whole = bytes({5, 1, 0, 3, int(name.size())}) + name + bytes({0, 80});
    every_prefix_needs_more(read_request, whole);
    const auto r = read_request(whole);
    ASSERT_EQ(r.status, read_status::done);
    EXPECT_EQ(r.used, whole.size());
    EXPECT_EQ(r.value.host, "Example.test"); // as sent: the exchange judges it lower-cased
    EXPECT_EQ(authority(r.value), "Example.test:80");
    // The longest name there is, and an IPv6 literal sent as a name.
    const std::string longest(255, 'a');
    EXPECT_EQ(read_request(bytes({5, 1, 0, 3, 255}) + longest + bytes({0, 22})).status,
              read_status::done);
    const auto v6 = read_request(bytes({5, 1, 0, 3, 3}) + "::1" + bytes({0, 22}));
    ASSERT_EQ(v6.status, read_status::done);
    EXPECT_EQ(authority(v6.value), "[::1]:22");
}

TEST(Socks5Request, RefusesNamesNoHostHas) {
    for (std::string name : {std::string(), std::string("a b"), std::string("a/b"),
                             std::string("a\0b", 3), std::string("a\r\nb"), std::string("a@b"),
                             std::string("a:b"), std::string("\x7f"), std::string("caf\xc3\xa9")}) {
        const auto r = read_request(bytes({5, 1, 0, 3, int(name.size())}) + name + bytes({0, 80}));
        EXPECT_EQ(r.status, read_status::failed) << name;
        EXPECT_EQ(r.why, problem::bad_name);
        EXPECT_EQ(reply_for(r.why), reply::host_unreachable);
    }
}

TEST(Socks5Request, AnswersCommandsItDoesNotServe) {
    for (int cmd : {2, 3}) { // BIND, UDP ASSOCIATE: read whole, then refused
        const auto whole = bytes({5, cmd, 0, 1, 127, 0, 0, 1, 0, 80});
        every_prefix_needs_more(read_request, whole);
        const auto r = read_request(whole);
        EXPECT_EQ(r.status, read_status::failed);
        EXPECT_EQ(r.why, problem::unsupported_command);
        EXPECT_EQ(reply_for(r.why), reply::command_not_supported);
    }
    for (int cmd : {0, 4, 0xff}) {
        const auto r = read_request(bytes({5, cmd, 0, 1, 127, 0, 0, 1, 0, 80}));
        EXPECT_EQ(r.status, read_status::failed);
        EXPECT_EQ(r.why, problem::bad_command);
        EXPECT_EQ(reply_for(r.why), reply::command_not_supported);
    }
}

TEST(Socks5Request, AnswersUnknownAddressTypesAtOnce) {
    for (int atyp : {0, 2, 5, 0xff}) {
        const auto r = read_request(bytes({5, 1, 0, atyp}));
        EXPECT_EQ(r.status, read_status::failed) << atyp;
        EXPECT_EQ(r.why, problem::bad_address_type);
        EXPECT_EQ(reply_for(r.why), reply::address_type_not_supported);
    }
}

TEST(Socks5Request, RefusesAnotherVersionAndIgnoresRsv) {
    EXPECT_EQ(read_request(bytes({4, 1, 0, 80, 127, 0, 0, 1, 0})).why, problem::bad_version);
    EXPECT_EQ(read_request(bytes({5, 1, 0xff, 1, 127, 0, 0, 1, 0, 80})).status, read_status::done);
}

TEST(Socks5Writers, WriteMethodsStatusAndReplies) {
    std::string out;
    write_method(method::password, out);
    write_method(method::none_acceptable, out);
    EXPECT_EQ(out, bytes({5, 2, 5, 0xff}));
    out.clear();
    write_password_status(true, out);
    write_password_status(false, out);
    EXPECT_EQ(out, bytes({1, 0, 1, 1}));
    out.clear();
    write_reply(reply::succeeded, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0x1234), out);
    EXPECT_EQ(out, bytes({5, 0, 0, 1, 127, 0, 0, 1, 0x12, 0x34}));
    out.clear();
    write_reply(reply::connection_refused, {}, out); // BND 0.0.0.0:0 for a failure
    EXPECT_EQ(out, bytes({5, 5, 0, 1, 0, 0, 0, 0, 0, 0}));
    out.clear();
    write_reply(reply::succeeded, tcp::endpoint(asio::ip::make_address("::1"), 80), out);
    EXPECT_EQ(out, bytes({5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80}));
    out.clear(); // a v4-mapped address is the IPv4 address it maps
    write_reply(reply::succeeded, tcp::endpoint(asio::ip::make_address("::ffff:10.0.0.1"), 1), out);
    EXPECT_EQ(out, bytes({5, 0, 0, 1, 10, 0, 0, 1, 0, 1}));
}

TEST(Socks5Method, PasswordWhenOfferedAndCheckableElseNoAuthWhereAllowed) {
    const greeting both{true, true}, none_only{true, false}, password_only{false, true};
    EXPECT_EQ(choose_method(both, true, true), method::password);
    EXPECT_EQ(choose_method(both, false, true), method::no_auth);
    EXPECT_EQ(choose_method(none_only, true, true), method::no_auth);
    EXPECT_EQ(choose_method(none_only, true, false), method::none_acceptable);
    EXPECT_EQ(choose_method(password_only, false, true), method::none_acceptable);
    EXPECT_EQ(choose_method(greeting{}, true, true), method::none_acceptable);
}

TEST(Socks5Method, NoAuthOnlyWhereARuleOrTheDefaultCouldAllowIt) {
    const auto loopback = asio::ip::make_address("127.0.0.1");
    const auto other = asio::ip::make_address("192.0.2.1");
    using policy::default_policy;
    EXPECT_TRUE(may_pass_without_user({}, default_policy::loopback_only, loopback, false));
    EXPECT_FALSE(may_pass_without_user({}, default_policy::loopback_only, loopback, true));
    EXPECT_FALSE(may_pass_without_user({}, default_policy::loopback_only, other, false));
    config::acl_rule users_only;
    users_only.users = {"*"};
    users_only.users_given = true;
    EXPECT_FALSE(
        may_pass_without_user({users_only}, default_policy::loopback_only, loopback, true));
    config::acl_rule open_to_all; // no users: anyone, anywhere
    EXPECT_TRUE(may_pass_without_user({users_only, open_to_all}, default_policy::loopback_only,
                                      other, true));
    config::acl_rule deny_all;
    deny_all.action = config::acl_rule::verdict::deny;
    EXPECT_FALSE(may_pass_without_user({deny_all}, default_policy::loopback_only, loopback, false));
    config::acl_rule elsewhere; // allows clients of another network only
    config::direct_rule cidr;
    ASSERT_TRUE(config::parse_direct_rule("10.0.0.0/8", cidr));
    elsewhere.clients = {cidr};
    EXPECT_FALSE(
        may_pass_without_user({elsewhere}, default_policy::loopback_only, loopback, false));
    EXPECT_TRUE(may_pass_without_user({elsewhere}, default_policy::loopback_only,
                                      asio::ip::make_address("10.1.2.3"), false));
}

TEST(Socks5Replies, EachFailureGetsItsCode) {
    using core::errc;
    EXPECT_EQ(reply_for_failure(errc::forbidden, 0, 403), reply::not_allowed);
    EXPECT_EQ(reply_for_failure(errc::none, 0, 407), reply::not_allowed); // credentials needed
    EXPECT_EQ(reply_for_failure(errc::loop_detected, 0, 400), reply::not_allowed);
    EXPECT_EQ(reply_for_failure(errc::resolve_failed, 0, 502), reply::host_unreachable);
    EXPECT_EQ(reply_for_failure(errc::resolve_timeout, 0, 504), reply::ttl_expired);
    EXPECT_EQ(reply_for_failure(errc::connect_timeout, 0, 504), reply::ttl_expired);
    EXPECT_EQ(reply_for_failure(errc::connect_failed, ECONNREFUSED, 502),
              reply::connection_refused);
    EXPECT_EQ(reply_for_failure(errc::connect_failed, ENETUNREACH, 502),
              reply::network_unreachable);
    EXPECT_EQ(reply_for_failure(errc::connect_failed, EHOSTUNREACH, 502), reply::host_unreachable);
    EXPECT_EQ(reply_for_failure(errc::connect_failed, ETIMEDOUT, 504), reply::ttl_expired);
    EXPECT_EQ(reply_for_failure(errc::connect_failed, 0, 502), reply::general_failure);
    EXPECT_EQ(reply_for_failure(errc::bad_response, 0, 502), reply::general_failure);
    EXPECT_EQ(reply_for_failure(errc::internal, 0, 500), reply::general_failure);
    EXPECT_EQ(reply_for_failure(errc::bad_request, 0, 400), reply::general_failure);
}

} // namespace
} // namespace ferry::frontend::socks5

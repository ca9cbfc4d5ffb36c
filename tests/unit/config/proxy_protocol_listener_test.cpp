// Listeners with HAProxy's PROXY protocol (issue 17): `[[listener]]` tables in the file,
// `?proxy_protocol_from=` after a --listen address, written back the same way, and every
// mistake named with its file, line and key.
#include "config/config_file.h"
#include "config/field_text.h"
#include "config/options.h"
#include "config/values.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

direct_rule cidr(std::string network, unsigned prefix) {
    direct_rule r;
    r.what = direct_rule::kind::cidr;
    r.network = std::move(network);
    r.prefix = prefix;
    return r;
}

listen_address proxied(std::string host, std::uint16_t port, std::string scheme,
                       std::vector<direct_rule> from) {
    listen_address a{std::move(host), port, std::move(scheme)};
    a.proxy_protocol = true;
    a.proxy_protocol_from = std::move(from);
    return a;
}

std::string apply_listen(settings& s, std::string_view text) {
    const auto* listen = find_flag("--listen");
    EXPECT_NE(listen, nullptr);
    return listen ? listen->apply(s, text) : "no --listen";
}

TEST(ProxyProtocolListen, TheCommandLineFormTurnsItOnWithItsBalancers) {
    settings s;
    s.listen.clear();
    EXPECT_EQ(apply_listen(s, "http://0.0.0.0:3128?proxy_protocol_from=10.0.0.0/8,127.0.0.1/32"),
              "");
    EXPECT_EQ(apply_listen(s, "https://[::]:8443?proxy_protocol_from=fd00::/8,192.0.2.1"), "");
    EXPECT_EQ(apply_listen(s, "127.0.0.1:9001"), "");
    ASSERT_EQ(s.listen.size(), 3u);
    EXPECT_EQ(s.listen[0],
              proxied("0.0.0.0", 3128, "http", {cidr("10.0.0.0", 8), cidr("127.0.0.1", 32)}));
    EXPECT_EQ(s.listen[1],
              proxied("::", 8443, "https", {cidr("fd00::", 8), cidr("192.0.2.1", 32)}));
    EXPECT_FALSE(s.listen[2].proxy_protocol);
}

TEST(ProxyProtocolListen, IsWrittenBackAsTheCommandLineTakesIt) {
    const auto a = proxied("0.0.0.0", 3128, "http", {cidr("10.0.0.0", 8), cidr("127.0.0.1", 32)});
    EXPECT_EQ(format_listen_address(a), "0.0.0.0:3128?proxy_protocol_from=10.0.0.0/8,127.0.0.1/32");
    EXPECT_EQ(field_text::to_text(std::vector<listen_address>{a}),
              "0.0.0.0:3128?proxy_protocol_from=10.0.0.0/8,127.0.0.1/32");
    settings s;
    s.listen.clear();
    EXPECT_EQ(apply_listen(s, format_listen_address(a)), "");
    EXPECT_EQ(s.listen, std::vector<listen_address>{a}) << "read back as itself";
}

TEST(ProxyProtocolListen, TheCommandLineSaysWhatIsWrong) {
    settings s;
    EXPECT_EQ(apply_listen(s, "127.0.0.1:3128?proxy_protocol_from="),
              "proxy_protocol_from: expected at least one IP or CIDR");
    EXPECT_EQ(apply_listen(s, "127.0.0.1:3128?proxy_protocol_from=10.0.0.0/33"),
              R"(proxy_protocol_from: expected an IP or CIDR, not "10.0.0.0/33")");
    EXPECT_EQ(apply_listen(s, "127.0.0.1:3128?proxy_protocol_from=10.0.0.1,,10.0.0.2"),
              R"(proxy_protocol_from: expected an IP or CIDR, not "")");
    EXPECT_EQ(apply_listen(s, "127.0.0.1:3128?proxy_protocol_from=lb.example"),
              R"(proxy_protocol_from: expected an IP or CIDR, not "lb.example")");
    // Peers are matched as IPv4 (::ffff:a.b.c.d unmapped): a mapped network never matches.
    EXPECT_EQ(apply_listen(s, "127.0.0.1:3128?proxy_protocol_from=::ffff:10.0.0.0/104"),
              R"(proxy_protocol_from: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 network, )"
              R"(which never matches: IPv4 balancers are matched as IPv4, write it as 10.0.0.0/8)");
    EXPECT_EQ(apply_listen(s, "127.0.0.1:3128?proxy=1"),
              R"(expected "?proxy_protocol_from=CIDR[,CIDR...]" after the address)");
    EXPECT_EQ(apply_listen(s, "127.0.0.1:?proxy_protocol_from=10.0.0.1"),
              R"(expected "HOST:PORT" or "[IPv6]:PORT")");
}

config_load load(std::string_view text) {
    return parse_config(text, "t.toml");
}

TEST(ProxyProtocolListenerTables, AddListenersAfterThoseOfListen) {
    auto r = load(R"(listen = ["127.0.0.1:9001"]

[[listener]]
address = "http://0.0.0.0:3128"
proxy_protocol = true
proxy_protocol_from = ["10.0.0.0/8", "127.0.0.1"]

[[listener]]
address = "https://[::1]:8443"

[[listener]]
address = "127.0.0.1:3129"
proxy_protocol = false
proxy_protocol_from = ["10.0.0.0/8"]
)");
    ASSERT_TRUE(r.parsed) << r.error;
    const auto& l = r.parsed->listen;
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0], (listen_address{"127.0.0.1", 9001, "http"}));
    EXPECT_EQ(l[1], proxied("0.0.0.0", 3128, "http", {cidr("10.0.0.0", 8), cidr("127.0.0.1", 32)}));
    EXPECT_EQ(l[2], (listen_address{"::1", 8443, "https"}));
    EXPECT_EQ(l[3], (listen_address{"127.0.0.1", 3129, "http"})) << "off: the list is not kept";
}

TEST(ProxyProtocolListenerTables, OnlyTablesAndNoDefaultListener) {
    auto r = load("[[listener]]\naddress = \"127.0.0.1:3128\"\n");
    ASSERT_TRUE(r.parsed) << r.error;
    EXPECT_EQ(r.parsed->listen, (std::vector<listen_address>{{"127.0.0.1", 3128, "http"}}))
        << "a table is a listen address: the default 127.0.0.1:9001 does not come back";
}

TEST(ProxyProtocolListenerTables, MistakesNameTheFileLineAndKey) {
    EXPECT_EQ(load("via = \"x\"\n[[listener]]\nproxy_protocol = true\n"
                   "proxy_protocol_from = [\"10.0.0.0/8\"]\n")
                  .error,
              "t.toml:2: listener.address: missing: every listener needs an address");
    EXPECT_EQ(load("[[listener]]\naddress = \"127.0.0.1:1\"\n\n[[listener]]\n"
                   "address = \"127.0.0.1:2\"\nproxy_protocol = true\n")
                  .error,
              "t.toml:4: listener.proxy_protocol_from: missing: a PROXY protocol listener needs "
              "the balancers it believes");
    EXPECT_EQ(load("[[listener]]\naddress = \"127.0.0.1:2\"\nproxy_protocol = true\n"
                   "proxy_protocol_from = []\n")
                  .error,
              "t.toml:4: listener.proxy_protocol_from: expected at least one of an IP or CIDR");
    EXPECT_EQ(load("[[listener]]\naddress = \"127.0.0.1:2\"\nproxy_protocol = true\n"
                   "proxy_protocol_from = [\n  \"10.0.0.0/8\",\n  \"balancer\",\n]\n")
                  .error,
              "t.toml:6: listener.proxy_protocol_from: expected an IP or CIDR");
    EXPECT_EQ(load("[[listener]]\naddress = \"127.0.0.1:2\"\nproxy_protocol = true\n"
                   "proxy_protocol_from = [\"::ffff:192.0.2.1\"]\n")
                  .error,
              "t.toml:4: listener.proxy_protocol_from: \"::ffff:192.0.2.1\" is an IPv4-mapped "
              "IPv6 network, which never matches: IPv4 balancers are matched as IPv4, write it "
              "as 192.0.2.1/32");
    EXPECT_EQ(
        load("[[listener]]\naddress = \"127.0.0.1:2\"\nproxy_protocol_from = [\"10.0.0.1\"]\n")
            .error,
        "t.toml:1: listener.proxy_protocol_from: set proxy_protocol = true to use it");
    EXPECT_EQ(load("[[listener]]\naddress = \"127.0.0.1:2\"\nproxy_protocol = \"yes\"\n").error,
              "t.toml:3: listener.proxy_protocol: expected true or false");
    EXPECT_EQ(
        load("[[listener]]\naddress = \"gopher://127.0.0.1:2\"\n").error,
        R"(t.toml:2: listener.address: unknown scheme "gopher" (ferry serves: http, https, socks5))");
    EXPECT_EQ(
        load("[[listener]]\naddress = \"127.0.0.1:2?proxy_protocol_from=10.0.0.1\"\n").error,
        R"(t.toml:2: listener.address: use the proxy_protocol and proxy_protocol_from keys, not "?")");
    EXPECT_EQ(
        load("[[listener]]\naddress = \"127.0.0.1:2\"\nproxy_protocl = true\n").error,
        R"(t.toml:3: unknown key "listener.proxy_protocl" (did you mean "listener.proxy_protocol"?))");
    EXPECT_EQ(load("listener = \"127.0.0.1:2\"\n").error,
              "t.toml:1: listener: expected [[listener]] tables");
}

TEST(ProxyProtocolTimeout, IsAnOptionOfSeconds) {
    const auto* o = find_flag("--proxy-protocol-timeout");
    ASSERT_NE(o, nullptr);
    settings s;
    EXPECT_EQ(s.proxy_protocol_timeout, std::chrono::seconds(5));
    EXPECT_EQ(o->apply(s, "0.5"), "");
    EXPECT_EQ(s.proxy_protocol_timeout, std::chrono::milliseconds(500));
    EXPECT_NE(o->apply(s, "0"), "");
    auto r = load("proxy_protocol_timeout = 2\n");
    ASSERT_TRUE(r.parsed) << r.error;
    EXPECT_EQ(r.parsed->proxy_protocol_timeout, std::chrono::seconds(2));
}

} // namespace
} // namespace ferry::config

// pac: the proxy auto-config file from the configuration — which proxies it names, and that
// no configured value can break out of its JavaScript string literals (the file is evaluated
// by real PAC engines in tests/integration/pac_test.cpp).
#include "app/pac.h"

#include "config/config_file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ferry::app {
namespace {

namespace asio = boost::asio;

pac_listener at(const char* address, unsigned short port, const char* scheme = "http") {
    return {{asio::ip::make_address(address), port}, scheme};
}

TEST(PacString, EscapesEverythingThatCouldEndTheLiteral) {
    EXPECT_EQ(js_string("PROXY 10.0.0.1:3128; HTTPS [::1]:443"),
              "\"PROXY 10.0.0.1:3128; HTTPS [::1]:443\"");
    const auto hostile = js_string("a\"+alert(1)+\"</script>\\\n\u2028'`");
    EXPECT_EQ(hostile.find('"', 1), hostile.size() - 1) << hostile;
    for (auto bad : {"<", ">", "\\\"", "\n", "'", "`", "+"})
        EXPECT_EQ(hostile.find(bad), std::string::npos) << bad << " in " << hostile;
    EXPECT_NE(hostile.find("\\x22"), std::string::npos);
}

TEST(PacProxies, FromTheListenersOrPacProxy) {
    config::settings s;
    const std::vector<pac_listener> loopback{at("127.0.0.1", 9001)};
    EXPECT_EQ(pac_proxy_list(pac_proxies(s, loopback, "")), "PROXY 127.0.0.1:9001");
    // A remote client cannot use a loopback listener when another one exists; a wildcard
    // address is the name the PAC file was asked for with; https:// is HTTPS.
    const std::vector<pac_listener> several{at("127.0.0.1", 9001), at("0.0.0.0", 3128),
                                            at("2001:db8::5", 443, "https")};
    EXPECT_EQ(pac_proxy_list(pac_proxies(s, several, "Proxy.Example.test:8080")),
              "PROXY proxy.example.test:3128; HTTPS [2001:db8::5]:443");
    // A Host that is no host name is not written anywhere.
    EXPECT_EQ(pac_proxy_list(pac_proxies(s, several, "evil\"host")), "HTTPS [2001:db8::5]:443");
    EXPECT_TRUE(pac_proxies(s, std::vector{at("0.0.0.0", 3128)}, "").empty());
    EXPECT_EQ(pac_proxy_list(pac_proxies(s, std::vector{at("::", 3128)}, "[2001:db8::1]:80")),
              "PROXY [2001:db8::1]:3128");
    auto loaded = config::parse_config("pac_proxy = \"https://proxy.corp.test:8443\"\n", "f");
    ASSERT_TRUE(loaded.parsed) << loaded.error;
    EXPECT_EQ(pac_proxy_list(pac_proxies(*loaded.parsed, several, "x")),
              "HTTPS proxy.corp.test:8443");
}

TEST(PacProxies, PacProxyValuesAreChecked) {
    for (auto bad : {"proxy.test", "ftp://proxy.test:21", "\"><script>:80", "proxy test:80"}) {
        auto loaded = config::parse_config(fmt::format("pac_proxy = '{}'\n", bad), "f");
        EXPECT_FALSE(loaded.parsed) << bad;
    }
}

TEST(PacFile, DirectRulesBecomeConditions) {
    auto loaded = config::parse_config(
        R"(direct = ["intranet.test", ".corp.test", "10.0.0.0/8", "fd00::/8"])", "f");
    ASSERT_TRUE(loaded.parsed) << loaded.error;
    const auto text = pac_file(*loaded.parsed, {{false, "10.0.0.1", 3128}});
    EXPECT_NE(text.find("function FindProxyForURL(url, host)"), std::string::npos);
    EXPECT_NE(text.find(R"(if (h == "intranet.test") return "DIRECT";)"), std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(h == "corp.test" || dnsDomainIs(h, ".corp.test"))"), std::string::npos);
    EXPECT_NE(text.find(R"(ferryIsIPv4(h) && isInNet(h, "10.0.0.0", "255.0.0.0"))"),
              std::string::npos);
    EXPECT_NE(text.find(R"(ferryInNet6(h, "fd00::", 8))"), std::string::npos);
    EXPECT_NE(text.find(R"(return "PROXY 10.0.0.1:3128";)"), std::string::npos);
    EXPECT_EQ(text.find("</"), std::string::npos);
}

} // namespace
} // namespace ferry::app

// Listen addresses with a scheme: `http://HOST:PORT` is what `HOST:PORT` always was, a scheme
// ferry does not serve is refused by name (from the command line and the file alike), and the
// admin listener takes no scheme but http.
#include "config/config_file.h"
#include "config/options.h"
#include "config/values.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

listen_address parsed(std::string_view text) {
    listen_address a;
    EXPECT_TRUE(parse_listen_address(text, a)) << text;
    return a;
}

TEST(ListenAddress, WithoutASchemeIsHttp) {
    EXPECT_EQ(parsed("127.0.0.1:8080"), (listen_address{"127.0.0.1", 8080, "http"}));
    EXPECT_EQ(parsed("[::1]:8080"), (listen_address{"::1", 8080, "http"}));
    EXPECT_EQ(parsed("localhost:3128"), (listen_address{"localhost", 3128, "http"}));
    EXPECT_EQ(parsed("8080"), (listen_address{"127.0.0.1", 8080, "http"}));
}

TEST(ListenAddress, TakesAScheme) {
    EXPECT_EQ(parsed("http://127.0.0.1:8080"), (listen_address{"127.0.0.1", 8080, "http"}));
    EXPECT_EQ(parsed("http://[::1]:8080"), (listen_address{"::1", 8080, "http"}));
    EXPECT_EQ(parsed("HTTP://127.0.0.1:8080/"), (listen_address{"127.0.0.1", 8080, "http"}));
    // Parsed, to be refused by name: ferry has no front end for it.
    EXPECT_EQ(parsed("socks5://127.0.0.1:1080"), (listen_address{"127.0.0.1", 1080, "socks5"}));
    EXPECT_EQ(parsed("https://[::1]:8443"), (listen_address{"::1", 8443, "https"}));
}

TEST(ListenAddress, RefusesMalformedOnes) {
    listen_address a;
    for (const char* bad :
         {"", "http://", "://127.0.0.1:80", "1http://127.0.0.1:80", "ht_tp://127.0.0.1:80",
          "http://8080", "http://127.0.0.1", "http://127.0.0.1:8080/path", "http:/127.0.0.1:80",
          "http://[::1]", "http://:80", "127.0.0.1:99999", "[::1]", "http://http://1.2.3.4:5"})
        EXPECT_FALSE(parse_listen_address(bad, a)) << bad;
}

TEST(ListenAddress, OnlyServedSchemesPass) {
    EXPECT_EQ(listen_scheme_problem("http"), "");
    EXPECT_EQ(listen_scheme_problem("https"), "");
    EXPECT_EQ(listen_scheme_problem("socks4"),
              R"(unknown scheme "socks4" (ferry serves: http, https, socks5))");
}

TEST(ListenAddress, IsWrittenBackWithItsSchemeWhenNotHttp) {
    EXPECT_EQ(format_listen_address({"127.0.0.1", 8080, "http"}), "127.0.0.1:8080");
    EXPECT_EQ(format_listen_address({"::1", 8080, "http"}), "[::1]:8080");
    EXPECT_EQ(format_listen_address({"::1", 1080, "socks5"}), "socks5://[::1]:1080");
}

TEST(ListenOption, RefusesASchemeFerryDoesNotServe) {
    const auto* listen = find_flag("--listen");
    ASSERT_NE(listen, nullptr);
    settings s;
    s.listen.clear();
    EXPECT_EQ(listen->apply(s, "http://127.0.0.1:8080"), "");
    EXPECT_EQ(listen->apply(s, "socks4://127.0.0.1:1080"),
              R"(unknown scheme "socks4" (ferry serves: http, https, socks5))");
    EXPECT_EQ(listen->apply(s, "https://127.0.0.1:8443"), "");
    EXPECT_EQ(s.listen, (std::vector<listen_address>{{"127.0.0.1", 8080, "http"},
                                                     {"127.0.0.1", 8443, "https"}}));
}

TEST(ListenOption, TheAdminListenerTakesHttpOnly) {
    const auto* admin = find_flag("--admin-listen");
    ASSERT_NE(admin, nullptr);
    settings s;
    EXPECT_EQ(admin->apply(s, "http://127.0.0.1:9090"), "");
    EXPECT_EQ(s.admin_listen, (listen_address{"127.0.0.1", 9090, "http"}));
    EXPECT_EQ(admin->apply(s, "127.0.0.1:9091"), "");
    EXPECT_EQ(admin->apply(s, "https://127.0.0.1:9092"),
              R"(unknown scheme "https" (the admin listener serves http only))");
    EXPECT_EQ(s.admin_listen, (listen_address{"127.0.0.1", 9091, "http"}));
}

TEST(ListenOption, TheFileTakesSchemesAndNamesTheLineOfABadOne) {
    auto ok = parse_config("listen = [\"http://[::1]:8080\", \"127.0.0.1:9001\"]\n", "t.toml");
    ASSERT_TRUE(ok.parsed) << ok.error;
    EXPECT_EQ(ok.parsed->listen,
              (std::vector<listen_address>{{"::1", 8080, "http"}, {"127.0.0.1", 9001, "http"}}));
    auto bad = parse_config("via = \"x\"\nlisten = [\n  \"127.0.0.1:3128\",\n"
                            "  \"socks4://127.0.0.1:1080\",\n]\n",
                            "t.toml");
    EXPECT_FALSE(bad.parsed);
    EXPECT_EQ(bad.error,
              R"(t.toml:4: listen: unknown scheme "socks4" (ferry serves: http, https, socks5))");
    auto admin = parse_config("\nadmin_listen = \"https://127.0.0.1:9090\"\n", "t.toml");
    EXPECT_EQ(
        admin.error,
        R"(t.toml:2: admin_listen: unknown scheme "https" (the admin listener serves http only))");
}

} // namespace
} // namespace ferry::config

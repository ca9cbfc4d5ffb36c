// The options registry: every option is declared once, with a flag or a key, a default that
// passes its own check, one check shared by the command line and the file, and the documents
// (docs_match_test.cpp; config_file_test.cpp for ferry.example.toml) name every one.
#include "config/config_file.h"
#include "config/options.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <set>

namespace ferry::config {
namespace {

TEST(Options, EveryOptionHasAFlagOrAKeyAndHelp) {
    for (const auto& o : options()) {
        EXPECT_FALSE(o.about.flag.empty() && o.about.key.empty()) << o.about.value_name;
        EXPECT_FALSE(o.about.help.empty()) << o.name();
        EXPECT_TRUE(o.apply && o.copy && o.same && o.show) << o.name();
        if (!o.about.flag.empty()) {
            EXPECT_TRUE(o.about.flag.starts_with("--")) << o.name();
        }
        if (o.takes_value()) {
            EXPECT_FALSE(o.about.value_name.empty()) << o.name();
        }
    }
}

TEST(Options, NamesAreUnique) {
    std::set<std::string_view> flags, keys;
    std::set<char> shorts{'h', 'V'}; // --help, --version
    for (const auto& o : options()) {
        if (!o.about.flag.empty()) {
            EXPECT_TRUE(flags.insert(o.about.flag).second) << o.name();
        }
        if (!o.about.key.empty()) {
            EXPECT_TRUE(keys.insert(o.about.key).second) << o.about.key;
        }
        if (o.about.short_flag) {
            EXPECT_TRUE(shorts.insert(o.about.short_flag).second) << o.name();
        }
    }
}

TEST(Options, FlagsAndKeysAreFound) {
    ASSERT_NE(find_flag("--access-log"), nullptr);
    EXPECT_EQ(find_flag("--access-log")->about.key, "access_log");
    EXPECT_EQ(find_flag("-w"), find_flag("--workers"));
    EXPECT_EQ(find_key("auth.realm"), find_flag("--auth-realm"));
    EXPECT_EQ(find_flag("--acces-log"), nullptr);
    EXPECT_EQ(find_key("acces_log"), nullptr);
}

// Each default (settings.h) is a value its option accepts, and reads back as itself.
TEST(Options, DefaultsPassTheirOwnCheck) {
    const settings defaults;
    for (const auto& o : options()) {
        const auto text = o.show(defaults);
        if (text.empty()) continue; // nothing to show: none, or decided at start (workers)
        settings s;
        if (o.about.kind == value_kind::list) { // a list option appends: start from none
            settings none;
            none.listen.clear();
            o.copy(none, s);
        }
        EXPECT_EQ(o.apply(s, text), "") << o.name() << " " << text;
        EXPECT_TRUE(o.same(s, defaults)) << o.name() << " " << text;
    }
}

TEST(Options, DidYouMeanNamesOnlyCloseOnes) {
    const std::vector<std::string_view> flags{"--access-log", "--access-log-format", "--via"};
    EXPECT_EQ(closest("--acces-log", flags), "--access-log");
    EXPECT_EQ(closest("--access-log-fromat", flags), "--access-log-format"); // transposed
    EXPECT_EQ(closest("--colour", flags), "");
    EXPECT_EQ(closest("--vai", flags), "--via");
    const std::vector<std::string_view> keys{"header_timeout", "auth.realm", "via"};
    EXPECT_EQ(closest("header-timeout", keys), "header_timeout");
    EXPECT_EQ(closest("auth.relam", keys), "auth.realm");
    EXPECT_EQ(closest("zzz", keys), "");
    EXPECT_EQ(closest("", keys), "");
}

// A few values of each kind, as the command line writes them and as the file does.
struct sample {
    std::string text, toml;
};

std::vector<sample> samples(value_kind kind) {
    switch (kind) {
    case value_kind::flag:
    case value_kind::on_off:
        return {{"on", "true"}, {"off", "false"}};
    case value_kind::integer:
        return {{"-1", "-1"},     {"0", "0"},         {"7", "7"},
                {"1024", "1024"}, {"70000", "70000"}, {"99999999999", "99999999999"}};
    case value_kind::seconds:
        return {{"-1", "-1"}, {"0", "0"}, {"1.5", "1.5"}, {"30", "30"}, {"2000000000", "2e9"}};
    case value_kind::port_list:
        return {
            {"any", "\"any\""}, {"443,8443", "[443, 8443]"}, {"0", "[0]"}, {"70000", "[70000]"}};
    case value_kind::text:
    case value_kind::list:
        break;
    }
    std::vector<sample> out;
    for (std::string v :
         {"", "two words", "a\"b", "x\x01y", "127.0.0.1:3128", "::1", ".example.com",
          "http://proxy.example:3128", "http://proxy:0", "json", "/tmp/f.log"}) {
        std::string quoted;
        for (char c : v)
            quoted += c == '"' ? std::string("\\\"")
                      : c == 1 ? std::string("\\u0001")
                               : std::string(1, c);
        out.push_back(
            {v, kind == value_kind::list ? "[\"" + quoted + "\"]" : "\"" + quoted + "\""});
    }
    return out;
}

// The command line and the file refuse the same values with the same words.
TEST(Options, TheFileAndTheCommandLineCheckValuesAlike) {
    for (const auto& o : options()) {
        if (o.about.key.empty()) continue;
        for (const auto& [text, toml] : samples(o.about.kind)) {
            if (o.about.key == "listen" && toml == "[\"\"]") continue; // [] of the file
            settings s;
            const auto from_command_line = o.apply(s, text);
            auto loaded = parse_config(fmt::format("{} = {}\n", o.about.key, toml), "t.toml");
            const std::string prefix = fmt::format("t.toml:1: {}: ", o.about.key);
            const std::string from_file = loaded.parsed ? "" : loaded.error.substr(prefix.size());
            EXPECT_EQ(from_command_line, from_file) << o.about.key << " = " << toml;
        }
    }
}

// Seconds are kept in milliseconds: fractions down to one, nothing that would round to 0.
TEST(Options, SecondsKeepMillisecondsAndRefuseLessThanOne) {
    const auto* o = find_flag("--header-timeout");
    ASSERT_NE(o, nullptr);
    settings s;
    EXPECT_EQ(o->apply(s, "0.001"), "");
    EXPECT_EQ(s.header_timeout, duration(1));
    EXPECT_EQ(o->apply(s, "2.5"), "");
    EXPECT_EQ(s.header_timeout, duration(2500));
    EXPECT_EQ(o->apply(s, "1e9"), "");
    EXPECT_EQ(s.header_timeout, duration(1'000'000'000'000));
    EXPECT_EQ(o->apply(s, "0.0009"), "expected at least 0.001 seconds (one millisecond)");
    EXPECT_EQ(o->apply(s, "1e-300"), "expected at least 0.001 seconds (one millisecond)");
    EXPECT_EQ(o->apply(s, "1.1e9"), "expected at most 1000000000 seconds");
    EXPECT_EQ(o->apply(s, "inf"), "expected at most 1000000000 seconds");
    EXPECT_EQ(o->apply(s, "nan"), "expected a number of seconds");
    EXPECT_EQ(o->apply(s, "-0"), "expected a positive number of seconds");
    const auto* ttl = find_flag("--dns-negative-ttl");
    ASSERT_NE(ttl, nullptr);
    EXPECT_EQ(ttl->apply(s, "0"), "");
    EXPECT_EQ(s.dns_negative_ttl, duration(0));
    EXPECT_EQ(ttl->apply(s, "-0.5"), "expected zero or more seconds");
    EXPECT_EQ(ttl->apply(s, "0.0001"), "expected at least 0.001 seconds (one millisecond)");
}

} // namespace
} // namespace ferry::config

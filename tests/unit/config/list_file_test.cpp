// List files of [[acl]] rules (issue 18): every kind of line, comments and whitespace, each
// bad line named by file and line, the keys in the configuration file, and the files read
// (relative to the configuration file) by load_config_file.
#include "config/list_file.h"

#include "config/config_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace ferry::config {
namespace {

struct parsed_list {
    util::domain_set names;
    util::cidr_set networks;
    std::string error;
};

parsed_list parse(std::string_view text, list_kind kind = list_kind::destinations) {
    parsed_list out;
    out.error = parse_list(text, "block.txt", kind, out.names, out.networks);
    out.networks.seal();
    out.names.seal();
    return out;
}

std::string error_of(std::string_view text, list_kind kind = list_kind::destinations) {
    auto p = parse(text, kind);
    EXPECT_FALSE(p.error.empty()) << text;
    return p.error;
}

TEST(ListFile, EveryKindOfLine) {
    const auto p = parse("# a block list\n"
                         "\n"
                         "ads.example.com\n"
                         "  .Tracker.TEST  \n"
                         "fqdn.example.\n"
                         "10.0.0.0/8\n"
                         "192.0.2.7\n"
                         "2001:db8::/32   # documentation prefix\n"
                         "::1\n"
                         "\t# an indented comment\n"
                         "under_score-host.test\r\n"
                         "last.test"); // no newline at the end
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.names.size(), 5u);
    EXPECT_TRUE(p.names.contains("ads.example.com"));
    EXPECT_FALSE(p.names.contains("x.ads.example.com"));
    EXPECT_TRUE(p.names.contains("tracker.test")) << "lower-cased, whitespace ignored";
    EXPECT_TRUE(p.names.contains("a.b.tracker.test"));
    EXPECT_TRUE(p.names.contains("fqdn.example")) << "one trailing dot dropped";
    EXPECT_TRUE(p.names.contains("under_score-host.test")) << "a CR before the newline ignored";
    EXPECT_TRUE(p.names.contains("last.test"));
    EXPECT_TRUE(p.networks.contains_literal("10.200.0.1"));
    EXPECT_TRUE(p.networks.contains_literal("192.0.2.7"));
    EXPECT_FALSE(p.networks.contains_literal("192.0.2.8"));
    EXPECT_TRUE(p.networks.contains_literal("2001:db8:1::5"));
    EXPECT_TRUE(p.networks.contains_literal("::1"));
    EXPECT_EQ(p.networks.intervals(), 4u);
}

TEST(ListFile, AByteOrderMarkAtTheStartIsIgnored) {
    // Lists saved by Windows editors begin with one.
    const auto p = parse("\xef\xbb\xbf"
                         "first.test\n");
    EXPECT_EQ(p.error, "");
    EXPECT_TRUE(p.names.contains("first.test"));
    EXPECT_EQ(error_of("ok.test\n\xef\xbb\xbf"
                       "second.test\n"),
              "block.txt:2: expected a host, .domain, IP or CIDR: \"\\xef\\xbb\\xbfsecond.test\"");
}

TEST(ListFile, AnEmptyFileOrOnlyCommentsHoldsNothing) {
    for (const char* text : {"", "\n\n", "# nothing\n   \n\t\n# yet\n"}) {
        const auto p = parse(text);
        EXPECT_EQ(p.error, "") << text;
        EXPECT_EQ(p.names.size(), 0u);
        EXPECT_TRUE(p.networks.empty());
    }
}

// Addresses are matched unmapped (IPv4), so an IPv4-mapped entry is its IPv4 address; kept as
// IPv6 it could never match. One trailing dot is a fully qualified name; two are a mistake.
TEST(ListFile, MappedEntriesAreIPv4AndTwoTrailingDotsAreAnError) {
    const auto p = parse("::ffff:192.0.2.7\n::ffff:10.0.0.0/104\n");
    ASSERT_EQ(p.error, "");
    EXPECT_TRUE(p.networks.contains_literal("192.0.2.7"));
    EXPECT_TRUE(p.networks.contains_literal("10.1.2.3"));
    EXPECT_FALSE(p.networks.contains_literal("11.0.0.1"));
    EXPECT_EQ(error_of("::ffff:0:0/95\n"),
              "block.txt:1: an IPv4-mapped network shorter than /96: write the IPv4 form: "
              "\"::ffff:0:0/95\"");
    EXPECT_EQ(error_of("example.com..\n"),
              "block.txt:1: a name with an empty label: \"example.com..\"");
}

TEST(ListFile, ABadLineIsNamedByFileAndLineAndQuoted) {
    EXPECT_EQ(error_of("ok.test\n\nexample.com extra.test\n"),
              "block.txt:3: more than one entry on the line: \"example.com extra.test\"");
    EXPECT_EQ(error_of("0.0.0.0 ads.example.com\n"),
              "block.txt:1: more than one entry on the line: \"0.0.0.0 ads.example.com\"");
    EXPECT_EQ(error_of("# fine\nhttp://example.com/\n"),
              "block.txt:2: expected a host, .domain, IP or CIDR: \"http://example.com/\"");
    EXPECT_EQ(error_of("*.example.com\n"),
              "block.txt:1: a wildcard: write \".example.com\" for a domain and its subdomains: "
              "\"*.example.com\"");
    EXPECT_EQ(error_of("a..b\n"), "block.txt:1: a name with an empty label: \"a..b\"");
    EXPECT_EQ(error_of("example.com#x\n"),
              "block.txt:1: expected a host, .domain, IP or CIDR: \"example.com#x\"");
    EXPECT_EQ(error_of("10.0.0.0/33\n"),
              "block.txt:1: expected a prefix length 0-32 after the \"/\": \"10.0.0.0/33\"");
    EXPECT_EQ(error_of("2001:db8::/129\n"),
              "block.txt:1: expected a prefix length 0-128 after the \"/\": \"2001:db8::/129\"");
    EXPECT_EQ(error_of("10.0.0.0/\n"),
              "block.txt:1: expected a prefix length 0-32 after the \"/\": \"10.0.0.0/\"");
    EXPECT_EQ(error_of("10.0.0/8\n"),
              "block.txt:1: expected a host, .domain, IP or CIDR: \"10.0.0/8\"");
    EXPECT_EQ(error_of("10.0.0/8\n", list_kind::clients),
              "block.txt:1: expected an IP or CIDR: \"10.0.0/8\"");
    EXPECT_EQ(error_of(std::string(254, 'a') + "\n"),
              "block.txt:1: a name longer than 253 characters: \"" + std::string(100, 'a') +
                  "...\"");
    EXPECT_EQ(error_of("caf\xc3\xa9.test\n"),
              "block.txt:1: expected a host, .domain, IP or CIDR: \"caf\\xc3\\xa9.test\"");
    EXPECT_EQ(error_of(".\n"), "block.txt:1: expected a host, .domain, IP or CIDR: \".\"");
}

TEST(ListFile, AClientFileTakesAddressesOnly) {
    const auto p = parse("10.0.0.0/8\n::1\n# clients\n", list_kind::clients);
    EXPECT_EQ(p.error, "");
    EXPECT_TRUE(p.networks.contains_literal("10.9.9.9"));
    EXPECT_EQ(error_of("10.0.0.0/8\nexample.com\n", list_kind::clients),
              "block.txt:2: expected an IP or CIDR: \"example.com\"");
    EXPECT_EQ(error_of(".example.com\n", list_kind::clients),
              "block.txt:1: expected an IP or CIDR: \".example.com\"");
}

TEST(ListFile, TheKeysTakeAPathOrAListOfPathsRelativeToTheConfigurationFile) {
    auto r = parse_config("[[acl]]\naction = \"deny\"\ndest_file = \"block.txt\"\n"
                          "client_file = [\"/etc/ferry/a.txt\", \"lists/b.txt\"]\n",
                          "/srv/conf/ferry.toml");
    ASSERT_TRUE(r.parsed) << r.error;
    const auto& rule = r.parsed->acl.at(0);
    ASSERT_EQ(rule.dest_files.files.size(), 1u);
    EXPECT_EQ(rule.dest_files.files[0].path, "/srv/conf/block.txt");
    EXPECT_EQ(rule.dest_files.files[0].line, 3u);
    ASSERT_EQ(rule.client_files.files.size(), 2u);
    EXPECT_EQ(rule.client_files.files[0].path, "/etc/ferry/a.txt");
    EXPECT_EQ(rule.client_files.files[1].path, "/srv/conf/lists/b.txt");
    EXPECT_FALSE(rule.dest_files.names) << "parse_config reads no file";
    EXPECT_TRUE(rule.has_destinations());
    EXPECT_TRUE(rule.has_clients());
    auto here = parse_config("[[acl]]\naction = \"deny\"\ndest_file = \"block.txt\"\n", "f.toml");
    ASSERT_TRUE(here.parsed) << here.error;
    EXPECT_EQ(here.parsed->acl.at(0).dest_files.files.at(0).path, "block.txt");
}

TEST(ListFile, BadKeyValuesAreNamed) {
    auto error = [](std::string_view text) {
        auto r = parse_config(text, "t.toml");
        EXPECT_FALSE(r.parsed) << text;
        return r.error;
    };
    EXPECT_EQ(error("[[acl]]\naction = \"deny\"\ndest_file = 3\n"),
              "t.toml:3: acl.dest_file: expected a file name or an array of them");
    EXPECT_EQ(error("[[acl]]\naction = \"deny\"\ndest_file = []\n"),
              "t.toml:3: acl.dest_file: expected at least one of file names");
    EXPECT_EQ(error("[[acl]]\naction = \"deny\"\nclient_file = [\"a\", 1]\n"),
              "t.toml:3: acl.client_file: expected a file name");
    EXPECT_EQ(error("[[acl]]\naction = \"deny\"\ndest_files = \"a\"\n"),
              "t.toml:3: unknown key \"acl.dest_files\" (did you mean \"acl.dest_file\"?)");
}

class ListFileOnDisk : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "ferry-lists-XXXXXX";
        ASSERT_TRUE(::mkdtemp(pattern.data()));
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ + "/" + name) << text;
        return dir_ + "/" + name;
    }
    std::string dir_;
};

TEST_F(ListFileOnDisk, LoadingTheConfigurationReadsEveryRulesFiles) {
    write("a.txt", "one.test\n10.0.0.0/8\n");
    write("b.txt", ".two.test\n");
    write("clients.txt", "192.0.2.0/24\n");
    const auto config = write("ferry.toml", "[[acl]]\naction = \"deny\"\n"
                                            "dest_file = [\"a.txt\", \"b.txt\"]\n"
                                            "[[acl]]\naction = \"allow\"\n"
                                            "client_file = \"clients.txt\"\n"
                                            "dest_file = [\"a.txt\", \"b.txt\"]\n");
    auto r = load_config_file(config);
    ASSERT_TRUE(r.parsed) << r.error;
    const auto& deny = r.parsed->acl.at(0).dest_files;
    ASSERT_TRUE(deny.names && deny.networks);
    EXPECT_TRUE(deny.names->contains("one.test"));
    EXPECT_TRUE(deny.names->contains("x.two.test"));
    EXPECT_TRUE(deny.networks->contains_literal("10.1.1.1"));
    const auto& allow = r.parsed->acl.at(1);
    EXPECT_EQ(allow.dest_files.names, deny.names) << "the same files are read once and shared";
    ASSERT_TRUE(allow.client_files.networks);
    EXPECT_TRUE(allow.client_files.networks->contains_literal("192.0.2.9"));
    EXPECT_EQ(allow.client_files.names, nullptr);

    // Read again (a reload): equal settings when the files are unchanged, not when one changed.
    auto again = load_config_file(config);
    ASSERT_TRUE(again.parsed) << again.error;
    EXPECT_TRUE(again.parsed->acl == r.parsed->acl);
    write("b.txt", ".three.test\n");
    auto changed = load_config_file(config);
    ASSERT_TRUE(changed.parsed) << changed.error;
    EXPECT_FALSE(changed.parsed->acl == r.parsed->acl);
}

TEST_F(ListFileOnDisk, AMissingFileNamesTheKeyItsLineAndThePath) {
    const auto config =
        write("ferry.toml", "[[acl]]\naction = \"deny\"\n\ndest_file = \"missing.txt\"\n");
    auto r = load_config_file(config);
    EXPECT_FALSE(r.parsed);
    EXPECT_EQ(r.error,
              config + ":4: acl.dest_file: " + dir_ + "/missing.txt: No such file or directory");
    const auto dir_config = write("dir.toml", "[[acl]]\naction = \"deny\"\nclient_file = \".\"\n");
    auto d = load_config_file(dir_config);
    EXPECT_EQ(d.error, dir_config + ":3: acl.client_file: " + dir_ + "/.: not a regular file");
}

TEST_F(ListFileOnDisk, ABadLineInAFileFailsTheWholeLoad) {
    write("good.txt", "fine.test\n");
    const auto bad = write("bad.txt", "# header\nfine.test\nnot a host\n");
    const auto config = write("ferry.toml", "[[acl]]\naction = \"deny\"\n"
                                            "dest_file = [\"good.txt\", \"bad.txt\"]\n");
    auto r = load_config_file(config);
    EXPECT_FALSE(r.parsed);
    EXPECT_EQ(r.error, bad + ":3: more than one entry on the line: \"not a host\"");
}

} // namespace
} // namespace ferry::config

// The htpasswd parser: the formats ferry can verify, and errors naming file and line.
#include "auth/htpasswd.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>
#include <vector>

using namespace ferry::auth;

namespace {
const std::string bcrypt = "$2y$04$L/nHwZkvEhHWwZjFogliD.KaRDF/s1GzknG4JP9eCuXVsIommwcli";
const std::string apr1 = "$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6.";
const std::string sha256 = "$5$saltsalt$rQBvFGQx3u6doxkk7cvWbhhnhS2qa1.FI.tt6NGFH66";
const std::string sha512 = "$6$0123456789abcdef$zAYvvEJcrKSqV2KUPTUM1K9eaGv20n9mUjWSDZW0QnwBR"
                           "k0LSoTIT3PW7mCEa30acQuLwC1rnfhmbdGOSp.jX.";

std::string error_of(const std::string& text) {
    user_table t;
    return parse_htpasswd(text, "/etc/ferry/htpasswd", t);
}
} // namespace

TEST(AuthHtpasswd, ParsesEveryFormatSkippingCommentsAndBlankLines) {
    const std::string text = "# users\n\nalice:" + apr1 + "\r\nbob:" + bcrypt + "\n  # indented\n" +
                             "carol:" + sha256 + "\n\t\ndave:" + sha512 + "\nerin:" +
                             "$2b$04$GT6G9wFsK39VjArkbfmofuMfH4N0Nf8FZQzXgOj6mQ2e5GC2ZDS7i";
    user_table t;
    ASSERT_EQ(parse_htpasswd(text, "f", t), "");
    ASSERT_EQ(t.users.size(), 5u);
    ASSERT_NE(t.find("alice"), nullptr);
    EXPECT_EQ(t.find("alice")->kind, hash_kind::apr1);
    EXPECT_EQ(t.find("alice")->hash, apr1);
    EXPECT_EQ(t.find("alice")->line, 3u);
    EXPECT_EQ(t.find("bob")->kind, hash_kind::bcrypt);
    EXPECT_EQ(t.find("carol")->kind, hash_kind::sha256);
    EXPECT_EQ(t.find("dave")->kind, hash_kind::sha512);
    EXPECT_EQ(t.find("erin")->kind, hash_kind::bcrypt);
    EXPECT_EQ(t.find("mallory"), nullptr);
    EXPECT_EQ(t.find("Alice"), nullptr); // user names are case-sensitive, as in Apache
}

TEST(AuthHtpasswd, EmptyFileHasNoUsers) {
    user_table t;
    EXPECT_EQ(parse_htpasswd("", "f", t), "");
    EXPECT_EQ(parse_htpasswd("# nobody yet\n\n", "f", t), "");
    EXPECT_TRUE(t.users.empty());
}

TEST(AuthHtpasswd, UnsupportedFormatsNameFileLineAndUser) {
    const std::string head = "alice:" + apr1 + "\n# comment\n";
    for (const std::string& hash : std::vector<std::string>{
             "plain", "{SHA}lcsL/Sl3x2EpjZYk5LTUxyo5l0o=", "UBANzusqNugrc", "", "$1$abc$def",
             "$2y$04$short", "$2x$04$" + bcrypt.substr(7), "$2y$99$" + bcrypt.substr(7),
             "$apr1$toolongsalt$RdJvfdxTU5u/LHwAz0Vp6.", "$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6",
             "$5$salt$tooshort", "$6$" + sha256.substr(3), "$5$rounds=x$a$" + sha256.substr(12)}) {
        auto e = error_of(head + "bob:" + hash + "\n");
        EXPECT_EQ(e.rfind("ferry: /etc/ferry/htpasswd:3: unsupported password format for user "
                          "\"bob\"",
                          0),
                  0u)
            << hash << " → " << e;
    }
}

TEST(AuthHtpasswd, MalformedLinesAndDuplicates) {
    EXPECT_EQ(error_of("alice:" + apr1 + "\njust-a-name\n"),
              "ferry: /etc/ferry/htpasswd:2: expected user:hash");
    EXPECT_EQ(error_of(":" + apr1 + "\n"), "ferry: /etc/ferry/htpasswd:1: empty user name");
    EXPECT_EQ(error_of("bob:" + apr1 + "\n\nbob:" + bcrypt + "\n"),
              "ferry: /etc/ferry/htpasswd:3: duplicate user \"bob\" (first on line 1)");
}

TEST(AuthHtpasswd, ExtraFieldsAfterTheHashAreIgnoredAsByApache) {
    user_table t;
    ASSERT_EQ(parse_htpasswd("alice:" + apr1 + ":comment\n", "f", t), "");
    EXPECT_EQ(t.find("alice")->hash, apr1);
}

TEST(AuthHtpasswd, LoadReportsAMissingFile) {
    user_table t;
    auto e = load_htpasswd("/nonexistent/ferry-htpasswd", t);
    EXPECT_EQ(e, "ferry: /nonexistent/ferry-htpasswd: No such file or directory");
}

TEST(AuthHtpasswd, LoadReadsAFile) {
    char path[] = "/tmp/ferry-htpasswd-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    {
        std::ofstream out(path);
        out << "alice:" << apr1 << "\nbob:plain\n";
    }
    user_table t;
    auto e = load_htpasswd(path, t);
    std::remove(path);
    EXPECT_EQ(e.rfind(std::string("ferry: ") + path +
                          ":2: unsupported password format for user "
                          "\"bob\"",
                      0),
              0u)
        << e;
}

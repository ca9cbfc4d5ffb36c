// The Basic scheme of Proxy-Authorization: what a client may send, well-formed or not.
#include "auth/basic.h"

#include "util/base64.h"

#include <gtest/gtest.h>

using namespace ferry::auth;

namespace {
std::string basic(std::string_view userpass) {
    return "Basic " + ferry::util::base64_encode(userpass);
}
} // namespace

TEST(AuthBasic, UserAndPassword) {
    auto c = parse_basic(basic("bob:secret"));
    ASSERT_TRUE(c.ok) << c.problem;
    EXPECT_EQ(c.user, "bob");
    EXPECT_EQ(c.password, "secret");
}

TEST(AuthBasic, PasswordMayBeEmptyOrHoldColons) {
    auto c = parse_basic(basic("bob:"));
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.password, "");
    c = parse_basic(basic("bob:a:b:c"));
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.user, "bob");
    EXPECT_EQ(c.password, "a:b:c");
}

TEST(AuthBasic, SchemeIsCaseInsensitiveAndSpacesAreAllowed) {
    auto c = parse_basic("  bAsIc \t Ym9iOnNlY3JldA==  ");
    ASSERT_TRUE(c.ok) << c.problem;
    EXPECT_EQ(c.user, "bob");
}

TEST(AuthBasic, MalformedValuesSayWhy) {
    EXPECT_EQ(parse_basic("").problem, "empty credentials");
    EXPECT_EQ(parse_basic("   ").problem, "empty credentials");
    EXPECT_EQ(parse_basic("Bearer abc").problem, "not the Basic scheme");
    EXPECT_EQ(parse_basic("Basicdm9iOnNlY3JldA==").problem, "not the Basic scheme");
    EXPECT_EQ(parse_basic("Digest username=\"bob\"").problem, "not the Basic scheme");
    EXPECT_EQ(parse_basic("Basic").problem, "no credentials after Basic");
    EXPECT_EQ(parse_basic("Basic ").problem, "no credentials after Basic");
    EXPECT_EQ(parse_basic("Basic !!!!").problem, "bad base64");
    EXPECT_EQ(parse_basic("Basic Ym9i").problem, "no colon between user and password");
    EXPECT_EQ(parse_basic("Basic Ym9iOnNlY3JldA").problem, "bad base64"); // unpadded
    EXPECT_EQ(parse_basic("Basic Ym9i OnNl").problem, "bad base64");
    EXPECT_EQ(parse_basic(basic(":secret")).problem, "empty user name");
    EXPECT_FALSE(parse_basic(basic(":secret")).ok);
}

TEST(AuthBasic, HugeValuesAreRefusedUnread) {
    std::string huge = basic("bob:" + std::string(8192, 'x'));
    auto c = parse_basic(huge);
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.problem, "credentials too long");
    EXPECT_TRUE(parse_basic(basic("bob:" + std::string(2000, 'x'))).ok);
}

TEST(AuthBasic, BinaryBytesNeverCrash) {
    for (int i = 0; i < 256; ++i) {
        std::string v = "Basic ";
        v += char(i);
        v += "AAA";
        auto c = parse_basic(v);
        if (c.ok) {
            EXPECT_FALSE(c.user.empty());
        }
    }
    auto c = parse_basic(basic(std::string("b\0b:p\0w", 7)));
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.user, std::string("b\0b", 3));
}

TEST(AuthBasic, PrintableUserEscapesWhatCouldForgeALogLine) {
    EXPECT_EQ(printable_user("bob"), "bob");
    EXPECT_EQ(printable_user("a\"b\\c"), "a\\x22b\\x5cc");
    EXPECT_EQ(printable_user("x\ny"), "x\\x0ay");
    EXPECT_EQ(printable_user("\xc3\xa9"), "\\xc3\\xa9");
    EXPECT_EQ(printable_user(std::string(100, 'u')), std::string(64, 'u') + "...");
}

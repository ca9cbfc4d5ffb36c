// Password verification against hashes made by the real tools: `htpasswd -nbm` (apr1),
// `htpasswd -nbB` (bcrypt), `openssl passwd -apr1/-5/-6`. Also generated at test time when
// the tools are installed, so that ferry agrees with today's htpasswd and openssl.
#include "auth/verify.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

using namespace ferry::auth;

namespace {

// The last line of a command's output, without its newline ("" if it failed).
std::string run(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) {
        std::string line(buf);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.pop_back();
        if (!line.empty()) out = line;
    }
    return ::pclose(p) == 0 ? out : std::string();
}

bool have(const char* tool) {
    return !run(std::string("command -v ") + tool).empty();
}

} // namespace

TEST(AuthVerify, Apr1FromHtpasswd) {
    EXPECT_TRUE(verify_password("open sesame", "$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6."));
    EXPECT_FALSE(verify_password("open sesamE", "$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6."));
    EXPECT_FALSE(verify_password("", "$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6."));
    EXPECT_TRUE(verify_password("", "$apr1$pB2Meino$dy2gVzr/CUXTJd0g3QqFO0"));
    EXPECT_TRUE(
        verify_password("a-very-long-password-that-exceeds-sixteen-bytes-for-sure-0123456789",
                        "$apr1$cKQDU4Z6$T2YUj5NMDRW4zcb0XnrIF0"));
}

TEST(AuthVerify, Apr1FromOpensslWithShortSaltAndUtf8) {
    EXPECT_EQ(apr1_crypt("pw", "x"), "$apr1$x$c1lfMpyyDm.graHWYyv3p/");
    EXPECT_EQ(apr1_crypt("h\xc3\xa9llo", "12345678"), "$apr1$12345678$2b73eDWQhKwyt6V7MYeM7/");
    // Only the first 8 salt characters count, up to a '$'.
    EXPECT_EQ(apr1_crypt("pw", "x$whatever"), "$apr1$x$c1lfMpyyDm.graHWYyv3p/");
}

TEST(AuthVerify, BcryptFromHtpasswd) {
    const std::string y = "$2y$04$L/nHwZkvEhHWwZjFogliD.KaRDF/s1GzknG4JP9eCuXVsIommwcli";
    EXPECT_TRUE(verify_password("hunter2", y));
    EXPECT_FALSE(verify_password("hunter3", y));
    EXPECT_FALSE(verify_password("", y));
    EXPECT_TRUE(
        verify_password("", "$2y$05$5fIpf9Iq/uyYS0tZv/kM9eNdxtsPL/oc2KhPRvqwDxGmE.BBKgt8e"));
    // $2b$ is the same algorithm under another name.
    EXPECT_TRUE(
        verify_password("hunter2", "$2b$04$GT6G9wFsK39VjArkbfmofuMfH4N0Nf8FZQzXgOj6mQ2e5GC2ZDS7i"));
}

TEST(AuthVerify, ShaCryptFromOpenssl) {
    EXPECT_TRUE(verify_password("p\xc3\xa4ssword",
                                "$5$saltsalt$rQBvFGQx3u6doxkk7cvWbhhnhS2qa1.FI.tt6NGFH66"));
    EXPECT_FALSE(
        verify_password("password", "$5$saltsalt$rQBvFGQx3u6doxkk7cvWbhhnhS2qa1.FI.tt6NGFH66"));
    const std::string six = "$6$0123456789abcdef$zAYvvEJcrKSqV2KUPTUM1K9eaGv20n9mUjWSDZW0QnwBRk0L"
                            "SoTIT3PW7mCEa30acQuLwC1rnfhmbdGOSp.jX.";
    EXPECT_TRUE(verify_password("pw", six));
    EXPECT_FALSE(verify_password("pW", six));
    EXPECT_TRUE(
        verify_password("pw", "$5$rounds=1000$xyz$2F4U8sE/xqAHbg3cl5dBfhqSxj3nVGVFn3lhvirV7q/"));
}

TEST(AuthVerify, HashesMadeNowByTheInstalledTools) {
    if (!have("htpasswd") || !have("openssl")) GTEST_SKIP() << "htpasswd or openssl missing";
    const std::string password = "Tr0ub4dor&3 x";
    for (std::string flag : {"-nbm", "-nbB -C 4"}) {
        auto line = run("htpasswd " + flag + " carol '" + password + "'");
        ASSERT_EQ(line.rfind("carol:", 0), 0u) << flag << ": " << line;
        auto hash = line.substr(6);
        EXPECT_TRUE(verify_password(password, hash)) << hash;
        EXPECT_FALSE(verify_password(password + "!", hash)) << hash;
    }
    for (std::string flag : {"-apr1", "-5", "-6"}) {
        auto hash = run("openssl passwd " + flag + " '" + password + "'");
        ASSERT_FALSE(hash.empty()) << flag;
        EXPECT_TRUE(verify_password(password, hash)) << hash;
        EXPECT_FALSE(verify_password("x" + password, hash)) << hash;
    }
}

TEST(AuthVerify, RefusesWhatItCannotCheck) {
    EXPECT_FALSE(verify_password("y", "y"));                                 // plain text
    EXPECT_FALSE(verify_password("y", "{SHA}lcsL/Sl3x2EpjZYk5LTUxyo5l0o=")); // {SHA}
    EXPECT_FALSE(verify_password("y", "UBANzusqNugrc"));                     // DES crypt
    EXPECT_FALSE(verify_password("", ""));
    // A NUL would end the password early for crypt(3): never a match.
    const std::string with_nul("hunter2\0tail", 12);
    EXPECT_FALSE(
        verify_password(with_nul, "$2y$04$L/nHwZkvEhHWwZjFogliD.KaRDF/s1GzknG4JP9eCuXVsIommwcli"));
}

TEST(AuthVerify, ConstantTimeEqual) {
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

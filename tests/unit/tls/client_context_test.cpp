// The TLS client context for parents: what an unusable CA file is called, and what a new
// connection's SSL is set up to send and check (SNI and the name for a host name, the
// address alone for an IP literal).
#include "tls/client_context.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace ferry::tls {
namespace {

TEST(ClientContext, SystemCasByDefault) {
    std::string problem;
    auto ctx = client_context::make("", problem);
    ASSERT_NE(ctx, nullptr) << problem;
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native()), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native()), SSL_VERIFY_PEER);
}

TEST(ClientContext, UnusableCaFileIsNamedWithTheReason) {
    std::string problem;
    EXPECT_EQ(client_context::make("/nonexistent/ca.pem", problem), nullptr);
    EXPECT_EQ(problem, "parent_ca /nonexistent/ca.pem: No such file or directory");

    const std::string path = ::testing::TempDir() + "ferry-not-a-ca.pem";
    std::ofstream(path) << "not a certificate\n";
    problem.clear();
    EXPECT_EQ(client_context::make(path, problem), nullptr);
    EXPECT_TRUE(problem.starts_with("parent_ca " + path + ": ")) << problem;
    EXPECT_GT(problem.size(), ("parent_ca " + path + ": ").size()) << problem;
    std::remove(path.c_str());
}

TEST(SessionCache, NameIsSentAsSniAndChecked) {
    std::string problem;
    auto ctx = client_context::make("", problem);
    ASSERT_NE(ctx, nullptr) << problem;
    session_cache sessions;
    auto ssl = sessions.new_ssl(*ctx, "proxy.example", 443, problem);
    ASSERT_NE(ssl, nullptr) << problem;
    EXPECT_STREQ(SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name), "proxy.example");
    EXPECT_STREQ(SSL_get0_peername(ssl.get()), nullptr); // set once verified
    EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl.get()), 0), "proxy.example");
    EXPECT_EQ(sessions.size(), 1u);
}

TEST(SessionCache, IpLiteralHasNoSniAndIsCheckedAsAnAddress) {
    std::string problem;
    auto ctx = client_context::make("", problem);
    ASSERT_NE(ctx, nullptr) << problem;
    session_cache sessions;
    for (const char* ip : {"127.0.0.1", "::1"}) {
        auto ssl = sessions.new_ssl(*ctx, ip, 8443, problem);
        ASSERT_NE(ssl, nullptr) << problem;
        EXPECT_EQ(SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name), nullptr) << ip;
        EXPECT_EQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl.get()), 0), nullptr) << ip;
    }
    EXPECT_EQ(sessions.size(), 2u);
}

} // namespace
} // namespace ferry::tls

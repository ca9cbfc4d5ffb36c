// The admin listener's credentials decision, and its pure helpers.
#include "app/admin.h"
#include "app/admin_auth.h"
#include "app/status_page.h"
#include "http/head_parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ferry::app {
namespace {

struct parsed {
    explicit parsed(std::string text) : store(std::move(text)) {
        EXPECT_EQ(http::parse_request_head(store, store.size(), head), http::parse_error::none);
    }
    std::string store;
    http::request_head head;
};

TEST(AdminAuth, Token) {
    parsed none("GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n");
    auto g = gate_admin("token", "t0k", "/api/status", none.head);
    EXPECT_EQ(g.what, admin_gate::kind::refuse);
    EXPECT_EQ(g.refusal.status, 401);
    EXPECT_NE(g.refusal.extra_fields.find("WWW-Authenticate: Bearer realm=\"ferry admin\""),
              std::string::npos);
    EXPECT_EQ(gate_admin("token", "t0k", "/healthz", none.head).what, admin_gate::kind::pass);
    parsed right("GET / HTTP/1.1\r\nAuthorization: Bearer t0k\r\n\r\n");
    EXPECT_EQ(gate_admin("token", "t0k", "/", right.head).what, admin_gate::kind::pass);
    parsed wrong("GET / HTTP/1.1\r\nAuthorization: Bearer t0kk\r\n\r\n");
    EXPECT_EQ(gate_admin("token", "t0k", "/", wrong.head).what, admin_gate::kind::refuse);
    parsed basic("GET / HTTP/1.1\r\nAuthorization: Basic YW55OnQwaw==\r\n\r\n"); // any:t0k
    EXPECT_EQ(gate_admin("token", "t0k", "/", basic.head).what, admin_gate::kind::pass);
    parsed local("GET / HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\r\n");
    EXPECT_EQ(gate_admin("none", "", "/", local.head).what, admin_gate::kind::pass);
    auto b = gate_admin("basic", "", "/", basic.head);
    EXPECT_EQ(b.what, admin_gate::kind::check_basic);
    EXPECT_EQ(b.credentials, "Basic YW55OnQwaw==");
}

TEST(AdminAuth, WithoutCredentialsOnlyAddressesAndLocalhostInHost) {
    // A DNS-rebinding page sends its own name as Host: refused (421) without admin_auth.
    for (const char* host : {"127.0.0.1:9090", "127.0.0.1", "[::1]:9090", "localhost:9090",
                             "LocalHost", "ferry.localhost:1", "10.1.2.3:80"}) {
        parsed r(fmt::format("GET /api/flow HTTP/1.1\r\nHost: {}\r\n\r\n", host));
        EXPECT_EQ(gate_admin("none", "", "/api/flow", r.head).what, admin_gate::kind::pass) << host;
    }
    for (const char* host :
         {"evil.test:9090", "evil.test", "localhost.evil.test", "127.0.0.1.evil"}) {
        parsed r(fmt::format("GET /api/flow HTTP/1.1\r\nHost: {}\r\n\r\n", host));
        const auto g = gate_admin("none", "", "/api/flow", r.head);
        EXPECT_EQ(g.what, admin_gate::kind::refuse) << host;
        EXPECT_EQ(g.refusal.status, 421) << host;
        // The probe and the PAC file answer to any name; credentials make any name fine.
        EXPECT_EQ(gate_admin("none", "", "/healthz", r.head).what, admin_gate::kind::pass);
        EXPECT_EQ(gate_admin("none", "", "/proxy.pac", r.head).what, admin_gate::kind::pass);
    }
}

TEST(AdminAuth, TokenFile) {
    EXPECT_EQ(token_from_file_text("abc\r\nrest\n"), "abc");
    EXPECT_EQ(token_from_file_text("  abc  "), "abc");
    EXPECT_EQ(token_from_file_text("\nabc"), "");
}

TEST(AdminPages, QueryMarkerEscape) {
    EXPECT_EQ(query_value("after=5&x=1", "after"), "5");
    EXPECT_EQ(query_value("x=1&after=7", "after"), "7");
    EXPECT_FALSE(query_value("afterx=1", "after"));
    EXPECT_EQ(fill_marker("a<!-- m -->b", "<!-- m -->", "X"), "aXb");
    EXPECT_EQ(fill_marker("a</body>", "<!-- m -->", "X"), "aX</body>");
    std::string out;
    append_html_escaped("<script>\"&'", out);
    EXPECT_EQ(out, "&lt;script&gt;&quot;&amp;&#39;");
}

} // namespace
} // namespace ferry::app

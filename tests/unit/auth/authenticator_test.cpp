// The per-worker authenticator on a bare io_context (no sockets): outcomes, the thread hop
// for slow hashes (the check resumes on the loop's thread), and the bounded cache.
#include "auth/authenticator.h"

#include "util/base64.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <thread>

using namespace ferry::auth;
namespace asio = boost::asio;

namespace {

const std::string table_text =
    "alice:$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6.\n"                      // open sesame
    "bob:$2y$04$L/nHwZkvEhHWwZjFogliD.KaRDF/s1GzknG4JP9eCuXVsIommwcli\n" // hunter2
    "carol:$5$saltsalt$rQBvFGQx3u6doxkk7cvWbhhnhS2qa1.FI.tt6NGFH66\n";   // pässword

std::shared_ptr<const user_table> table() {
    auto t = std::make_shared<user_table>();
    EXPECT_EQ(parse_htpasswd(table_text, "f", *t), "");
    return t;
}

struct outcome {
    result r;
    std::thread::id resumed_on;
};

// Runs one check to completion on `io`, from the calling thread.
outcome check(asio::io_context& io, authenticator& a, const std::string& value, int fields = 1) {
    outcome out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            out.r = co_await a.check(value, fields);
            out.resumed_on = std::this_thread::get_id();
        },
        asio::detached);
    io.restart();
    io.run();
    return out;
}

std::string basic(const std::string& userpass) {
    return "Basic " + ferry::util::base64_encode(userpass);
}

} // namespace

TEST(AuthAuthenticator, OutcomesAndTheLoopThread) {
    service shared(table(), "ferry", 1);
    authenticator a(&shared);
    asio::io_context io;
    using o = result::outcome;

    auto alice = check(io, a, basic("alice:open sesame"));
    EXPECT_EQ(alice.r.what, o::ok);
    EXPECT_EQ(alice.r.user, "alice");
    // bcrypt runs on the pool; the check still ends on the loop's thread.
    auto bob = check(io, a, basic("bob:hunter2"));
    EXPECT_EQ(bob.r.what, o::ok);
    EXPECT_EQ(bob.resumed_on, std::this_thread::get_id());
    EXPECT_EQ(check(io, a, basic("carol:p\xc3\xa4ssword")).r.what, o::ok);
    EXPECT_EQ(a.cached(), 3u);

    auto wrong = check(io, a, basic("bob:hunter3"));
    EXPECT_EQ(wrong.r.what, o::wrong_password);
    EXPECT_EQ(wrong.r.user, "bob");
    EXPECT_EQ(wrong.r.problem, "wrong password");
    EXPECT_EQ(check(io, a, basic("mallory:x")).r.what, o::unknown_user);
    EXPECT_EQ(check(io, a, "", 0).r.what, o::missing);
    EXPECT_EQ(check(io, a, basic("alice:open sesame"), 2).r.what, o::malformed);
    auto bad = check(io, a, "Basic ***");
    EXPECT_EQ(bad.r.what, o::malformed);
    EXPECT_EQ(bad.r.problem, "malformed credentials: bad base64");
    EXPECT_EQ(a.cached(), 3u) << "failures are never remembered";
}

TEST(AuthAuthenticator, TheCacheIsBounded) {
    service shared(table(), "ferry", 1);
    authenticator a(&shared, 2);
    asio::io_context io;
    EXPECT_TRUE(check(io, a, basic("alice:open sesame")).r.ok());
    EXPECT_TRUE(check(io, a, basic("bob:hunter2")).r.ok());
    EXPECT_TRUE(check(io, a, basic("carol:p\xc3\xa4ssword")).r.ok());
    EXPECT_EQ(a.cached(), 2u);
    EXPECT_TRUE(check(io, a, basic("alice:open sesame")).r.ok()); // evicted, verified again
    EXPECT_EQ(a.cached(), 2u);
}

TEST(AuthAuthenticator, ChallengeQuotesTheRealm) {
    service plain(table(), "ferry", 1);
    EXPECT_EQ(plain.challenge(), "Proxy-Authenticate: Basic realm=\"ferry\"\r\n");
    service quoted(table(), "a \"b\" \\c", 1);
    EXPECT_EQ(quoted.challenge(), "Proxy-Authenticate: Basic realm=\"a \\\"b\\\" \\\\c\"\r\n");
}

TEST(AuthAuthenticator, FailureLineEscapesTheUser) {
    result r;
    r.what = result::outcome::unknown_user;
    r.user = "eve\" from 10.0.0.1:1 (x)\nferry: auth failed for user \"z";
    r.problem = "unknown user";
    auto line = failure_line(r, "127.0.0.1:5555");
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    EXPECT_EQ(
        line.rfind("ferry: auth failed for user \"eve\\x22 from 10.0.0.1:1 (x)\\x0aferry: ", 0), 0u)
        << line;
    EXPECT_NE(line.find("\" from 127.0.0.1:5555 (unknown user)\n"), std::string::npos) << line;
    result none;
    none.problem = "malformed credentials: bad base64";
    EXPECT_EQ(
        failure_line(none, "[::1]:7"),
        "ferry: auth failed for user \"-\" from [::1]:7 (malformed credentials: bad base64)\n");
}

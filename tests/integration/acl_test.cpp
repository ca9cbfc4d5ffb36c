// Access control (issue 4, part 2): [[acl]] rules from a --config file, checked through the
// real binary. The first rule that matches decides; no match is a 403; a denial names its
// rule in a one-line text body and in the access log; rules with `users` need proxy
// credentials from the htpasswd file. Other client addresses come from binding the client
// socket to 127.0.0.2 (all of 127/8 is loopback on Linux); destinations under `.localhost`
// are answered by ferry as loopback, so they reach the test origin without DNS.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <regex>
#include <sys/socket.h>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// A file in a fresh directory under the test's temp dir, removed at the end of the test.
class temp_file {
public:
    explicit temp_file(const std::string& text, const std::string& name = "ferry.toml") {
        std::string pattern = ::testing::TempDir() + "ferry-acl-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
        path_ = dir_ + "/" + name;
        std::ofstream(path_) << text;
    }
    ~temp_file() {
        std::remove(path_.c_str());
        if (!dir_.empty()) ::rmdir(dir_.c_str());
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string dir_, path_;
};

// ferry on a free port with `toml` as its configuration file (kept for ferry's lifetime).
struct configured_ferry {
    explicit configured_ferry(const std::string& toml, std::vector<std::string> more = {})
        : file(toml), process(args(file.path(), std::move(more))) {}
    static std::vector<std::string> args(const std::string& path, std::vector<std::string> more) {
        std::vector<std::string> a{"--config", path};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    }
    temp_file file;
    ferry_process process;
};

// A TCP connection to 127.0.0.1:port from `source` (an address of 127/8), any source port.
tcp_stream connect_from(const char* source, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return tcp_stream{};
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = 0;
    if (::inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        ::close(fd);
        return tcp_stream{};
    }
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<uint16_t>(port));
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
        ::close(fd);
        return tcp_stream{};
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return tcp_stream{fd};
}

std::string get_request(const std::string& url, const std::string& extra = "") {
    return "GET " + url + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

// One GET through ferry from `source`; the whole response ("" when it could not connect).
std::string get_from(const char* source, int ferry_port, const std::string& url) {
    auto s = connect_from(source, ferry_port);
    if (!s.ok()) return {};
    if (!s.send_all(get_request(url))) return {};
    return s.read_response();
}

std::string host_url(const std::string& host, int port, const std::string& path = "/") {
    return fmt::format("http://{}:{}{}", host, port, path);
}

// A 403 from the access rules: text/plain, one line, exactly `cause`.
void expect_denied(const std::string& response, const std::string& cause) {
    EXPECT_EQ(status_of(response), 403) << printable(response);
    EXPECT_EQ(header_value(head_of(response), "Content-Type").rfind("text/plain", 0), 0u)
        << printable(response);
    EXPECT_EQ(std::string(body_of(response)), cause + "\n") << printable(response);
}

void expect_denied(const curl_response& r, const std::string& cause) {
    EXPECT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 403) << r.headers << r.body;
    EXPECT_EQ(header_value(r.headers, "Content-Type").rfind("text/plain", 0), 0u) << r.headers;
    EXPECT_EQ(r.body, cause + "\n");
}

// The access-log line for `target` with `status` carries `cause` in quotes.
void expect_logged(const ferry_process& ferry, const std::string& target, int status,
                   const std::string& cause) {
    auto line = wait_for_line(ferry, {" " + target + " ", fmt::format(" {} ", status)});
    ASSERT_FALSE(line.empty()) << "no access-log line for " << target << " in:\n" << ferry.out();
    EXPECT_NE(line.find("\"" + cause + "\""), std::string::npos)
        << "the access-log line does not carry \"" << cause << "\": " << line;
}

curl_response fetch(const ferry_process& ferry, const std::string& url,
                    const std::string& user = "") {
    curl_client client;
    return client.perform({.url = url, .proxy = ferry.proxy_url(), .proxy_user = user});
}

} // namespace

TEST(Acl, DenyByDestinationSuffixNamesTheRuleInBodyAndLog) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\ndest = [\".blocked.localhost\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    const int port = origin.port();
    for (const char* host : {"x.blocked.localhost", "blocked.localhost", "a.b.blocked.localhost"}) {
        auto url = host_url(host, port);
        expect_denied(fetch(f.process, url), "ferry: denied by access rule 1");
        expect_logged(f.process, url, 403, "ferry: denied by access rule 1");
    }
    EXPECT_EQ(origin.connections(), 0) << "a denied request never reaches the origin";
    // The suffix is matched on a label boundary; other names are allowed by rule 2.
    for (const char* host : {"notblocked.localhost", "x.open.localhost", "127.0.0.1"}) {
        auto r = fetch(f.process, host_url(host, port));
        EXPECT_EQ(r.status, 200) << host << "\n" << r.headers << r.body;
        EXPECT_EQ(r.body, "hello\n") << host;
    }
}

TEST(Acl, NamedRuleIsQuotedInTheBodyAndTheIndexCountsEveryRule) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\ndest = [\"unrelated.invalid\"]\n"
                       "[[acl]]\nname = \"no-blocked\"\naction = \"deny\"\n"
                       "dest = [\".blocked.localhost\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto url = host_url("x.blocked.localhost", origin.port());
    expect_denied(fetch(f.process, url), "ferry: denied by access rule 2 (\"no-blocked\")");
    auto line = wait_for_line(f.process, {" " + url + " ", " 403 "});
    ASSERT_FALSE(line.empty()) << f.process.out();
    EXPECT_NE(line.find("denied by access rule 2"), std::string::npos) << line;
    EXPECT_NE(line.find("no-blocked"), std::string::npos) << line;
}

TEST(Acl, DenyByDestinationCidr) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\ndest = [\"10.0.0.0/8\"]\n"
                       "[[acl]]\naction = \"deny\"\ndest = [\"127.0.0.0/30\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto url = origin.url("/");
    expect_denied(fetch(f.process, url), "ferry: denied by access rule 2");
    expect_logged(f.process, url, 403, "ferry: denied by access rule 2");
    EXPECT_EQ(origin.connections(), 0);
    // 127.0.0.5 is outside 127.0.0.0/30: allowed by rule 3, and then refused by the
    // kernel (nothing listens there), which ferry reports as 502, not 403.
    auto r = fetch(f.process, host_url("127.0.0.5", origin.port()));
    EXPECT_EQ(r.status, 502) << r.headers << r.body;
    EXPECT_EQ(r.body.find("access rule"), std::string::npos) << r.body;
}

// A name is judged by the address it resolves to as well: it cannot reach a range that
// the same request with an IP literal could not (x.localhost is loopback without DNS).
TEST(Acl, DestinationCidrAlsoJudgesTheAddressANameResolvesTo) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\nname = \"no-loopback\"\n"
                       "dest = [\"127.0.0.0/8\", \"::1/128\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    for (const char* host : {"x.localhost", "localhost"}) {
        SCOPED_TRACE(host);
        auto r = fetch(f.process, host_url(host, origin.port()));
        EXPECT_EQ(r.status, 403) << r.headers << r.body;
        EXPECT_EQ(r.body.rfind("ferry: denied by access rule 1 (\"no-loopback\") (", 0), 0u)
            << r.body;
    }
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Acl, PortsRuleAllowsOnlyTheListedPorts) {
    test_origin origin;
    configured_ferry f(fmt::format("[[acl]]\naction = \"allow\"\nports = [{}]\n", origin.port()));
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto r = fetch(f.process, origin.url("/"));
    EXPECT_EQ(r.status, 200) << r.headers << r.body;
    EXPECT_EQ(r.body, "hello\n");
    const int other = unused_port();
    ASSERT_NE(other, origin.port());
    auto url = host_url("127.0.0.1", other);
    expect_denied(fetch(f.process, url), "ferry: no access rule allows this request");
    expect_logged(f.process, url, 403, "ferry: no access rule allows this request");
}

TEST(Acl, MethodsRuleAllowsGetAndDeniesPost) {
    test_origin origin;
    configured_ferry f("[[acl]]\nname = \"read-only\"\naction = \"deny\"\nmethods = [\"POST\"]\n"
                       "[[acl]]\naction = \"allow\"\nmethods = [\"GET\", \"HEAD\"]\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/"), .proxy = f.process.proxy_url()});
    EXPECT_EQ(r.status, 200) << r.headers << r.body;
    r = client.perform({.url = origin.url("/"), .proxy = f.process.proxy_url(), .method = "HEAD"});
    EXPECT_EQ(r.status, 200) << r.headers;
    r = client.perform({.url = origin.url("/echo"),
                        .proxy = f.process.proxy_url(),
                        .method = "POST",
                        .body = "hello"});
    expect_denied(r, "ferry: denied by access rule 1 (\"read-only\")");
    // PUT matches neither rule.
    r = client.perform({.url = origin.url("/echo"),
                        .proxy = f.process.proxy_url(),
                        .method = "PUT",
                        .body = "hello"});
    expect_denied(r, "ferry: no access rule allows this request");
    // Only the allowed requests reached the origin.
    EXPECT_EQ(origin.received().find("POST "), std::string::npos) << origin.received();
    EXPECT_EQ(origin.received().find("PUT "), std::string::npos) << origin.received();
}

TEST(Acl, DeniedRequestWithABodyClosesTheConnection) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\nmethods = [\"POST\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto s = tcp_stream::connect_to(f.process.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all("POST " + origin.url("/echo") +
                           " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    auto response = s.read_response();
    expect_denied(response, "ferry: denied by access rule 1");
    EXPECT_EQ(header_value(head_of(response), "Connection"), "close") << printable(response);
    EXPECT_TRUE(s.peer_closed());
}

TEST(Acl, ConnectAllowedAndDeniedByRule) {
    test_origin origin;
    configured_ferry f("connect_ports = \"any\"\n"
                       "[[acl]]\nname = \"no-tunnels-there\"\naction = \"deny\"\n"
                       "methods = [\"CONNECT\"]\ndest = [\".blocked.localhost\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    const auto blocked = fmt::format("x.blocked.localhost:{}", origin.port());
    {
        auto s = tcp_stream::connect_to(f.process.port());
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(s.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", blocked)));
        auto response = s.read_response();
        expect_denied(response, "ferry: denied by access rule 1 (\"no-tunnels-there\")");
        EXPECT_TRUE(s.peer_closed()) << "a refused CONNECT closes the connection";
    }
    EXPECT_EQ(origin.connections(), 0);
    // A GET to the same host is not a CONNECT: rule 2 allows it.
    auto r = fetch(f.process, host_url("x.blocked.localhost", origin.port()));
    EXPECT_EQ(r.status, 200) << r.headers << r.body;
    // A CONNECT elsewhere opens a tunnel.
    auto s = tcp_stream::connect_to(f.process.port());
    ASSERT_TRUE(s.ok());
    const auto allowed = origin.authority();
    ASSERT_TRUE(s.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", allowed)));
    auto established = s.read_until("\r\n\r\n");
    ASSERT_EQ(status_of(established), 200) << printable(established);
    ASSERT_TRUE(s.send_all("GET / HTTP/1.1\r\nHost: " + allowed + "\r\n\r\n"));
    auto through = s.read_response();
    EXPECT_EQ(status_of(through), 200) << printable(through);
    EXPECT_EQ(body_of(through), "hello\n");
}

TEST(Acl, ConnectOnlyRuleLeavesOtherMethodsToTheDefaultDeny) {
    test_origin origin;
    configured_ferry f(fmt::format("connect_ports = \"any\"\n[[acl]]\naction = \"allow\"\n"
                                   "methods = [\"CONNECT\"]\nports = [{}]\n",
                                   origin.port()));
    ASSERT_TRUE(f.process.started()) << f.process.err();
    curl_client client;
    auto r = client.perform(
        {.url = origin.url("/size/100"), .proxy = f.process.proxy_url(), .tunnel = true});
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, 100u);
    expect_denied(fetch(f.process, origin.url("/")), "ferry: no access rule allows this request");
}

TEST(Acl, FirstMatchingRuleWins) {
    test_origin origin;
    const std::string deny = "[[acl]]\nname = \"deny-local\"\naction = \"deny\"\n"
                             "dest = [\".localhost\"]\n";
    const std::string allow = "[[acl]]\nname = \"allow-local\"\naction = \"allow\"\n"
                              "dest = [\".localhost\"]\n";
    const auto url = host_url("a.localhost", origin.port());
    {
        configured_ferry f(deny + allow);
        ASSERT_TRUE(f.process.started()) << f.process.err();
        expect_denied(fetch(f.process, url), "ferry: denied by access rule 1 (\"deny-local\")");
    }
    {
        configured_ferry f(allow + deny);
        ASSERT_TRUE(f.process.started()) << f.process.err();
        auto r = fetch(f.process, url);
        EXPECT_EQ(r.status, 200) << r.headers << r.body;
        EXPECT_EQ(r.body, "hello\n");
    }
}

TEST(Acl, ARequestNoRuleMatchesIsDenied) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"allow\"\ndest = [\"only.localhost\"]\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto r = fetch(f.process, host_url("only.localhost", origin.port()));
    EXPECT_EQ(r.status, 200) << r.headers << r.body;
    for (const std::string& url : {origin.url("/"), host_url("x.only.localhost", origin.port())}) {
        expect_denied(fetch(f.process, url), "ferry: no access rule allows this request");
        expect_logged(f.process, url, 403, "ferry: no access rule allows this request");
    }
    EXPECT_EQ(origin.connections(), 1);
}

TEST(Acl, WithoutRulesEveryLoopbackClientIsServed) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    for (const char* source : {"127.0.0.1", "127.0.0.2"}) {
        auto response = get_from(source, ferry.port(), origin.url("/"));
        EXPECT_EQ(status_of(response), 200) << source << "\n" << printable(response);
    }
}

TEST(Acl, ClientCidrRulesSeeTheClientsAddress) {
    test_origin origin;
    configured_ferry f("[[acl]]\nname = \"not-two\"\naction = \"deny\"\n"
                       "client = [\"127.0.0.2/32\"]\n"
                       "[[acl]]\naction = \"allow\"\nclient = [\"127.0.0.1/32\"]\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto probe = connect_from("127.0.0.2", f.process.port());
    if (!probe.ok()) GTEST_SKIP() << "cannot bind a client socket to 127.0.0.2 here";
    probe.close();
    const auto url = origin.url("/");
    auto one = get_from("127.0.0.1", f.process.port(), url);
    EXPECT_EQ(status_of(one), 200) << printable(one);
    expect_denied(get_from("127.0.0.2", f.process.port(), url),
                  "ferry: denied by access rule 1 (\"not-two\")");
    expect_denied(get_from("127.0.0.3", f.process.port(), url),
                  "ferry: no access rule allows this request");
    EXPECT_EQ(origin.connections(), 1);
    // The access log names the client the rule saw.
    auto line = wait_for_line(f.process, {"127.0.0.2", " 403 ", "not-two"});
    EXPECT_FALSE(line.empty()) << f.process.out();
}

TEST(Acl, FerryKeepsServingAfterDenials) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\ndest = [\".blocked.localhost\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    // A denied GET without a body leaves the connection usable.
    auto s = tcp_stream::connect_to(f.process.port());
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(s.send_all(get_request(host_url("x.blocked.localhost", origin.port()))));
        auto denied = s.read_response();
        expect_denied(denied, "ferry: denied by access rule 1");
        EXPECT_EQ(header_value(head_of(denied), "Connection"), "") << printable(denied);
    }
    ASSERT_TRUE(s.send_all(get_request(origin.url("/"))));
    auto allowed = s.read_response();
    EXPECT_EQ(status_of(allowed), 200) << printable(allowed);
    EXPECT_EQ(body_of(allowed), "hello\n");
    // Other clients are served too.
    for (int i = 0; i < 5; ++i) {
        auto r = fetch(f.process, origin.url("/size/10"));
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body_size, 10u);
    }
    EXPECT_TRUE(f.process.running());
}

namespace {

int admin_port(const ferry_process& ferry) {
    static const std::regex line(R"(Admin listener on port (\d+))");
    std::smatch m;
    const auto out = ferry.out();
    return std::regex_search(out, m, line) ? std::stoi(m.str(1)) : 0;
}

// The value of the ferry_acl_denials_total sample on the admin port, -1 when absent.
double acl_denials(int admin) {
    auto s = tcp_stream::connect_to(admin);
    if (!s.send_all("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return -1;
    const auto page = std::string(body_of(s.read_response()));
    static const std::regex sample(R"((?:^|\n)ferry_acl_denials_total ([0-9.e+]+)\n)");
    std::smatch m;
    return std::regex_search(page, m, sample) ? std::stod(m.str(1)) : -1;
}

} // namespace

TEST(Acl, MetricsCountDenials) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\ndest = [\".blocked.localhost\"]\n"
                       "[[acl]]\naction = \"allow\"\ndest = [\"127.0.0.1\"]\n",
                       {"--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(f.process.started()) << f.process.err();
    ASSERT_TRUE(f.process.wait_for_out("Admin listener on port")) << f.process.out();
    const int admin = admin_port(f.process);
    ASSERT_GT(admin, 0) << f.process.out();
    EXPECT_EQ(acl_denials(admin), 0);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(fetch(f.process, host_url("x.blocked.localhost", origin.port())).status, 403);
    EXPECT_EQ(fetch(f.process, host_url("other.localhost", origin.port())).status, 403);
    for (int i = 0; i < 2; ++i)
        EXPECT_EQ(fetch(f.process, origin.url("/")).status, 200);
    EXPECT_EQ(acl_denials(admin), 4) << "three by rule 1, one by no rule; not the allowed two";
}

// ---- Rules with users: proxy authentication through [auth] htpasswd ----

namespace {

class AclUsers : public ::testing::Test {
protected:
    void SetUp() override {
        if (shell_output("command -v htpasswd").empty())
            GTEST_SKIP() << "htpasswd (apache2-utils) missing";
        const auto alice = shell_output("htpasswd -nbm alice alice-pass");
        const auto bob = shell_output("htpasswd -nbB -C 4 bob bob-pass");
        ASSERT_FALSE(alice.empty());
        ASSERT_FALSE(bob.empty());
        htpasswd_ = std::make_unique<temp_file>(alice + "\n" + bob + "\n", "htpasswd");
    }
    // The [auth] table followed by `rules`.
    std::string config(const std::string& rules) const {
        return "[auth]\nhtpasswd = \"" + htpasswd_->path() + "\"\n" + rules;
    }
    std::unique_ptr<temp_file> htpasswd_;
};

} // namespace

TEST_F(AclUsers, AnyAuthenticatedUserRuleAsksForCredentials) {
    test_origin origin;
    configured_ferry f(config("[[acl]]\naction = \"allow\"\nusers = [\"*\"]\n"));
    ASSERT_TRUE(f.process.started()) << f.process.err();
    const auto url = origin.url("/");
    for (const char* user : {"", "alice:wrong", "mallory:alice-pass"}) {
        auto r = fetch(f.process, url, user);
        EXPECT_EQ(r.status, 407) << user << "\n" << r.headers << r.body;
        EXPECT_EQ(header_value(r.headers, "Proxy-Authenticate"), "Basic realm=\"ferry\"")
            << r.headers;
    }
    EXPECT_EQ(origin.connections(), 0);
    for (const char* user : {"alice:alice-pass", "bob:bob-pass"}) {
        auto r = fetch(f.process, url, user);
        EXPECT_EQ(r.status, 200) << user << "\n" << r.headers << r.body;
        EXPECT_EQ(r.body, "hello\n");
    }
    EXPECT_FALSE(wait_for_line(f.process, {" 200 ", "user=\"alice\""}).empty()) << f.process.out();
    EXPECT_FALSE(wait_for_line(f.process, {" 200 ", "user=\"bob\""}).empty()) << f.process.out();
}

TEST_F(AclUsers, ARuleForAliceLetsAliceThroughAndNotBob) {
    test_origin origin;
    {
        configured_ferry f(config("[[acl]]\naction = \"allow\"\nusers = [\"alice\"]\n"));
        ASSERT_TRUE(f.process.started()) << f.process.err();
        auto r = fetch(f.process, origin.url("/alice"), "alice:alice-pass");
        EXPECT_EQ(r.status, 200) << r.headers << r.body;
        // bob is who he says he is, but not listed: the rule does not match, no rule does.
        expect_denied(fetch(f.process, origin.url("/bob"), "bob:bob-pass"),
                      "ferry: no access rule allows this request");
        EXPECT_FALSE(wait_for_line(f.process, {" 403 ", "user=\"bob\""}).empty())
            << f.process.out();
        auto none = fetch(f.process, origin.url("/anonymous"));
        EXPECT_EQ(none.status, 407) << none.headers << none.body;
    }
    {
        configured_ferry f(config("[[acl]]\naction = \"allow\"\nusers = [\"alice\"]\n"
                                  "[[acl]]\nname = \"everyone-else\"\naction = \"deny\"\n"));
        ASSERT_TRUE(f.process.started()) << f.process.err();
        expect_denied(fetch(f.process, origin.url("/bob"), "bob:bob-pass"),
                      "ferry: denied by access rule 2 (\"everyone-else\")");
        EXPECT_EQ(fetch(f.process, origin.url("/alice"), "alice:alice-pass").status, 200);
    }
    EXPECT_EQ(origin.received().find("/bob"), std::string::npos) << origin.received();
    EXPECT_EQ(origin.received().find("/anonymous"), std::string::npos) << origin.received();
}

TEST_F(AclUsers, ARuleWithoutUsersNeedsNoCredentials) {
    test_origin origin;
    configured_ferry f(config("[[acl]]\naction = \"allow\"\ndest = [\".open.localhost\"]\n"
                              "[[acl]]\naction = \"allow\"\nusers = [\"*\"]\n"));
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto open = fetch(f.process, host_url("x.open.localhost", origin.port()));
    EXPECT_EQ(open.status, 200) << open.headers << open.body;
    EXPECT_EQ(open.body, "hello\n");
    auto closed = fetch(f.process, origin.url("/"));
    EXPECT_EQ(closed.status, 407) << closed.headers << closed.body;
    auto alice = fetch(f.process, origin.url("/"), "alice:alice-pass");
    EXPECT_EQ(alice.status, 200) << alice.headers << alice.body;
}

TEST(Acl, DestinationsAreMatchedIgnoringCaseTrailingDotAndTheV4MappedForm) {
    test_origin origin;
    configured_ferry f("[[acl]]\nname = \"suffix\"\naction = \"deny\"\n"
                       "dest = [\".blocked.localhost\"]\n"
                       "[[acl]]\nname = \"cidr\"\naction = \"deny\"\ndest = [\"127.0.0.0/30\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    const int port = origin.port();
    struct attempt {
        std::string host;
        std::string cause;
    };
    for (const attempt& a : {attempt{"X.Blocked.LOCALHOST", "ferry: denied by access rule 1 "
                                                            "(\"suffix\")"},
                             attempt{"x.blocked.localhost.", "ferry: denied by access rule 1 "
                                                             "(\"suffix\")"},
                             attempt{"[::ffff:127.0.0.1]", "ferry: denied by access rule 2 "
                                                           "(\"cidr\")"},
                             attempt{"127.0.0.1.", "ferry: denied by access rule 2 (\"cidr\")"}}) {
        // Raw bytes: curl would normalise some of these names before sending them.
        auto s = tcp_stream::connect_to(f.process.port());
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(s.send_all(get_request(host_url(a.host, port))));
        expect_denied(s.read_response(), a.cause);
    }
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Acl, MethodsInTheConfigAreComparedUpperCase) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\nmethods = [\"post\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/echo"),
                             .proxy = f.process.proxy_url(),
                             .method = "POST",
                             .body = "hello"});
    expect_denied(r, "ferry: denied by access rule 1");
    r = client.perform({.url = origin.url("/"), .proxy = f.process.proxy_url()});
    EXPECT_EQ(r.status, 200) << r.headers << r.body;
}

TEST(Acl, AnOriginFormRequestIsJudgedByItsHost) {
    test_origin origin;
    configured_ferry f("[[acl]]\naction = \"deny\"\ndest = [\".blocked.localhost\"]\n"
                       "[[acl]]\naction = \"allow\"\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto s = tcp_stream::connect_to(f.process.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all(
        fmt::format("GET / HTTP/1.1\r\nHost: x.blocked.localhost:{}\r\n\r\n", origin.port())));
    expect_denied(s.read_response(), "ferry: denied by access rule 1");
    EXPECT_EQ(origin.connections(), 0);
}

TEST_F(AclUsers, WithoutRulesAnHtpasswdFileMakesEveryoneAuthenticate) {
    test_origin origin;
    configured_ferry f(config(""));
    ASSERT_TRUE(f.process.started()) << f.process.err();
    auto none = fetch(f.process, origin.url("/"));
    EXPECT_EQ(none.status, 407) << none.headers << none.body;
    EXPECT_EQ(header_value(none.headers, "Proxy-Authenticate"), "Basic realm=\"ferry\"");
    auto alice = fetch(f.process, origin.url("/"), "alice:alice-pass");
    EXPECT_EQ(alice.status, 200) << alice.headers << alice.body;
}

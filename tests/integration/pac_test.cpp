// /proxy.pac and /wpad.dat on the admin listener: the PAC file from ferry's running
// configuration, evaluated by real PAC engines — pacparser (Debian's python3-pacparser, on
// SpiderMonkey) and Node with the standard PAC functions — on a list of URLs.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// Prints FindProxyForURL(url, host) for each "URL HOST" argument, one line each.
constexpr const char* pacparser_script = R"(
import sys, pacparser
pacparser.init()
pacparser.parse_pac_file(sys.argv[1])
for arg in sys.argv[2:]:
    url, host = arg.split(" ")
    print(pacparser.find_proxy(url, host))
pacparser.cleanup()
)";

// The same with Node: the PAC file in a context holding the standard functions it may call
// (RFC-less, but as Netscape defined them); isInNet on a name would resolve, which ferry's
// file never asks for (the stub says so).
constexpr const char* node_script = R"(
const fs = require('fs'), vm = require('vm');
const ip4 = (s) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const ctx = {
  dnsDomainIs: (h, d) => h.length >= d.length && h.substring(h.length - d.length) === d,
  isInNet: (h, net, mask) => {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(h)) throw new Error('isInNet on a name: ' + h);
    return ((ip4(h) & ip4(mask)) >>> 0) === ((ip4(net) & ip4(mask)) >>> 0);
  },
  isPlainHostName: (h) => h.indexOf('.') < 0,
  dnsResolve: () => { throw new Error('dnsResolve called'); },
  myIpAddress: () => '127.0.0.1',
  shExpMatch: () => false,
};
vm.createContext(ctx);
// node -e SCRIPT FILE ARGS...: the file is argv[1].
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), ctx);
for (const arg of process.argv.slice(2)) {
  const [url, host] = arg.split(' ');
  console.log(ctx.FindProxyForURL(url, host));
}
)";

struct pac_case {
    std::string url, host, expected;
};

std::vector<std::string> evaluate(const std::vector<std::string>& engine, const std::string& pac,
                                  const std::vector<pac_case>& cases) {
    temp_file file(pac);
    auto argv = engine;
    argv.push_back(file.path());
    for (const auto& c : cases)
        argv.push_back(c.url + " " + c.host);
    auto r = run_program(argv, 10s);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < r.out.size()) {
        const auto end = r.out.find('\n', at);
        lines.push_back(r.out.substr(at, end - at));
        at = end == std::string::npos ? r.out.size() : end + 1;
    }
    return lines;
}

bool have_pacparser() {
    return ::access("/usr/bin/python3", X_OK) == 0 &&
           run_program({"/usr/bin/python3", "-c", "import pacparser"}).exit_code() == 0;
}

bool have_node() {
    return run_program({"node", "--version"}).exit_code() == 0;
}

void check_engines(const std::string& pac, const std::vector<pac_case>& cases) {
    std::vector<std::pair<std::string, std::vector<std::string>>> engines;
    if (have_pacparser())
        engines.push_back({"pacparser", {"/usr/bin/python3", "-c", pacparser_script}});
    if (have_node()) engines.push_back({"node", {"node", "-e", node_script}});
    if (engines.empty())
        GTEST_SKIP()
            << "no PAC engine: install python3-pacparser (scripts/install-deps.sh) or node";
    for (const auto& [name, argv] : engines) {
        const auto answers = evaluate(argv, pac, cases);
        ASSERT_EQ(answers.size(), cases.size()) << name << "\n" << pac;
        for (std::size_t i = 0; i < cases.size(); ++i)
            EXPECT_EQ(answers[i], cases[i].expected)
                << name << ": " << cases[i].url << " (host " << cases[i].host << ")";
    }
}

} // namespace

TEST(Pac, DirectRulesAreDirectEverythingElseGoesToFerry) {
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--direct", "intranet.test", "--direct",
                         ".corp.test", "--direct", "10.0.0.0/8", "--direct", "fd00::/8"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = admin_port(ferry);
    ASSERT_GT(port, 0) << ferry.out();
    const auto response = admin_get(port, "GET /proxy.pac HTTP/1.1");
    ASSERT_EQ(status_of(response), 200) << printable(response);
    EXPECT_EQ(header_value(response, "content-type"), "application/x-ns-proxy-autoconfig");
    const std::string pac(body_of(response));
    const auto wpad = admin_get(port, "GET /wpad.dat HTTP/1.1");
    EXPECT_EQ(std::string(body_of(wpad)), pac);
    EXPECT_EQ(header_value(wpad, "content-type"), "application/x-ns-proxy-autoconfig");

    const auto proxy = fmt::format("PROXY 127.0.0.1:{}", ferry.port());
    check_engines(pac, {
                           {"http://intranet.test/", "intranet.test", "DIRECT"},
                           {"http://Intranet.Test./x", "Intranet.Test.", "DIRECT"},
                           {"http://www.intranet.test/", "www.intranet.test", proxy},
                           {"http://corp.test/", "corp.test", "DIRECT"},
                           {"https://a.b.corp.test/", "a.b.corp.test", "DIRECT"},
                           {"http://notcorp.test/", "notcorp.test", proxy},
                           {"http://10.1.2.3/", "10.1.2.3", "DIRECT"},
                           {"http://11.1.2.3/", "11.1.2.3", proxy},
                           {"http://[fd00::1]/", "fd00::1", "DIRECT"},
                           {"http://[fd12:3456::1]/", "[fd12:3456::1]", "DIRECT"},
                           {"http://[2001:db8::1]/", "2001:db8::1", proxy},
                           {"http://localhost:8080/", "localhost", "DIRECT"},
                           {"http://127.0.0.1:5000/", "127.0.0.1", "DIRECT"},
                           {"http://[::1]:5000/", "::1", "DIRECT"},
                           {"https://www.example.test/", "www.example.test", proxy},
                           // A name is not resolved to match a CIDR (ferry does not either).
                           {"http://ten.example.test/", "ten.example.test", proxy},
                       });
}

TEST(Pac, PacProxyNamesTheProxyClientsReachAndHttpsListenersAreHttps) {
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--pac-proxy",
                         "https://proxy.corp.test:8443", "--direct", ".corp.test"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = admin_port(ferry);
    ASSERT_GT(port, 0) << ferry.out();
    const std::string pac(body_of(admin_get(port, "GET /proxy.pac HTTP/1.1")));
    check_engines(pac,
                  {{"http://www.example.test/", "www.example.test", "HTTPS proxy.corp.test:8443"},
                   {"http://x.corp.test/", "x.corp.test", "DIRECT"}});
    // A value that is no host:port is refused at start, before any PAC file is written.
    auto r = run_ferry({"--pac-proxy", "\"+alert(1)+\":80"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
}

TEST(Pac, OpenWithoutAdminCredentialsWhileExplainNeedsThem) {
    temp_file token("s3cret-token\n");
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--admin-auth", "token",
                         "--admin-token-file", token.path()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = admin_port(ferry);
    ASSERT_GT(port, 0) << ferry.out();
    // Browsers fetch the PAC file without credentials.
    EXPECT_EQ(status_of(admin_get(port, "GET /proxy.pac HTTP/1.1")), 200);
    EXPECT_EQ(status_of(admin_get(port, "GET /wpad.dat HTTP/1.1")), 200);
    EXPECT_EQ(status_of(admin_get(port, "GET /explain?url=http://a.test/ HTTP/1.1")), 401);
    auto s = tcp_stream::connect_to(port);
    ASSERT_TRUE(s.send_all("GET /explain?url=http://localhost/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Authorization: Bearer s3cret-token\r\n\r\n"));
    const auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(header_value(r, "ferry-verdict"), "allowed") << printable(r);
}

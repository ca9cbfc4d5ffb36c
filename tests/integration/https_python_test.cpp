// Python requests (Debian's python3-requests, with urllib3 underneath) through ferry's HTTPS
// listener: plain-HTTP targets are forwarded inside the proxy's TLS, an https:// target is
// tunnelled with CONNECT and urllib3 speaks TLS inside TLS. The client trusts the test's CA
// for the proxy and the origin alike.
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/temp_file.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fstream>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* python = "/usr/bin/python3";

// argv: proxy URL, CA file, then URLs; prints "STATUS BODY" for each (a POST for /echo).
constexpr const char* client_script = R"(import sys
import requests

proxy, ca, urls = sys.argv[1], sys.argv[2], sys.argv[3:]

class ProxyTrust(requests.adapters.HTTPAdapter):
    # requests checks certificates for https:// URLs only, but an http:// URL through an
    # https:// proxy goes over a TLS connection to the proxy, which is checked here too.
    # (urllib3 1.26 checks a proxy against the CA given for the target: the same CA here.)
    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = ca

session = requests.Session()
session.trust_env = False
session.mount("http://", ProxyTrust())
session.mount("https://", ProxyTrust())
session.proxies = {"http": proxy, "https": proxy}
for url in urls:
    if url.endswith("/echo"):
        r = session.post(url, data=b"sent by requests", verify=ca, timeout=20)
    else:
        r = session.get(url, verify=ca, timeout=20)
    print(r.status_code, r.text.strip())
)";

bool requests_installed() {
    return !shell_output(std::string(python) + " -c 'import requests' 2>/dev/null && echo yes")
                .empty();
}

} // namespace

TEST(HttpsPython, RequestsForwardsAndTunnelsThroughTheTlsListener) {
    if (!requests_installed())
        GTEST_SKIP() << python << " cannot import requests (Debian package python3-requests)";
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    std::ofstream(files.path("page.txt")) << "through urllib3's TLS in TLS\n";
    tls_web_origin tls_origin(files);
    ASSERT_TRUE(tls_origin.ready()) << "openssl s_server did not start";
    test_origin origin;
    auto args = files.https_args();
    args.insert(args.end(), {"--connect-ports", std::to_string(tls_origin.port())});
    ferry_process ferry(args, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    temp_file script(client_script);

    auto r =
        run_program({python, script.path(), fmt::format("https://127.0.0.1:{}", ferry.port()),
                     files.ca(), origin.url("/"), origin.url("/echo"), tls_origin.url("page.txt")},
                    60s);
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry.err();
    EXPECT_EQ(r.out, "200 hello\n200 sent by requests\n200 through urllib3's TLS in TLS\n");
    EXPECT_EQ(r.err.find("InsecureRequestWarning"), std::string::npos) << r.err;
    EXPECT_FALSE(wait_for_line(ferry, {"GET " + origin.url("/"), " 200 "}).empty()) << ferry.out();
    EXPECT_FALSE(wait_for_line(ferry, {"POST " + origin.url("/echo"), " 200 "}).empty())
        << ferry.out();
    EXPECT_FALSE(
        wait_for_line(ferry, {fmt::format("CONNECT 127.0.0.1:{}", tls_origin.port()), " 200 "})
            .empty())
        << ferry.out();
}

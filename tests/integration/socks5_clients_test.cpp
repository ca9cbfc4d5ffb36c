// Real SOCKS5 clients through ferry's socks5:// listener (issue 17), driven the way their users
// configure them: curl --socks5 / --socks5-hostname (with and without --proxy-user), ssh with
// `ProxyCommand nc -X 5`, git with ALL_PROXY=socks5h://, Chromium headless with
// --proxy-server=socks5://, and Python's PySocks. Every server is one the test starts on
// loopback: test_origin, a Python origin (files, a SHA-256 upload sink), an openssl TLS origin,
// an sshd of its own. Names are answered by the test's DNS server only, so a client that gets
// through to "origin.ferry.test" proves ferry resolved it (socks5h semantics).
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/temp_file.h"
#include "support/test_dns.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <pwd.h>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* python = "/usr/bin/python3"; // Debian's: python3-socks is installed for it
constexpr const char* chromium = "/usr/bin/chromium";
constexpr const char* origin_name = "origin.ferry.test"; // only the test's DNS server knows it
constexpr const char* password = "s3cret pass";

// A folder under the test's temporary directory, removed with everything in it at the end.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = ::testing::TempDir() + "ferry-socks5-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    bool ok() const { return !path_.empty(); }
    std::string path(const std::string& name = "") const {
        return name.empty() ? path_ : path_ + "/" + name;
    }

private:
    std::string path_;
};

// The Python origin: the files of a folder (GET, for git's dumb HTTP, Chromium's page and the
// 100 MiB body), and PUT anywhere: the body's SHA-256 in hex. argv: port, folder.
constexpr const char* origin_script = R"PY(import functools, hashlib, http.server, sys

port, root = int(sys.argv[1]), sys.argv[2]

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_PUT(self):
        left, digest = int(self.headers["Content-Length"]), hashlib.sha256()
        while left > 0:
            block = self.rfile.read(min(left, 1 << 20))
            if not block:
                return
            digest.update(block)
            left -= len(block)
        body = digest.hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

handler = functools.partial(Handler, directory=root)
http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
)PY";

// PySocks: a raw socket through the proxy, one HTTP/1.0 GET, its response read whole. argv: proxy
// port, host, port, path, then optionally user and password. Prints "sent received status".
constexpr const char* pysocks_script = R"PY(import sys, socks

proxy_port, host, port, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
user, password = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", proxy_port, rdns=True, username=user, password=password)
s.settimeout(10)
s.connect((host, port))
request = ("GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode()
s.sendall(request)
response = b""
while b"\r\n\r\n" not in response:
    block = s.recv(65536)
    if not block:
        sys.exit("closed before the response head")
    response += block
head = response[:response.index(b"\r\n\r\n") + 4].decode("latin-1")
length = [int(l.split(":")[1]) for l in head.split("\r\n") if l.lower().startswith("content-length:")]
while len(response) < len(head) + length[0]:
    block = s.recv(65536)
    if not block:
        sys.exit("closed in the body")
    response += block
s.close()
print(len(request), len(response), response.split(b"\r\n")[0].decode())
)PY";

// A Python origin on a free port of 127.0.0.1 serving `dir` (see origin_script).
class python_origin {
public:
    python_origin(const temp_dir& dir)
        : script_(origin_script), port_(unused_port()),
          server_({python, script_.path(), std::to_string(port_), dir.path("www")},
                  dir.path("origin.log")) {
        ready_ = wait_for_listener(port_);
    }
    bool ready() const { return ready_; }
    int port() const { return port_; }

private:
    temp_file script_;
    int port_;
    background_program server_;
    bool ready_ = false;
};

// One access-log line, split: "TIME CLIENT METHOD TARGET STATUS TO FROM MSms[ extras]".
struct log_line {
    std::string line, method, target, extras;
    int status = 0;
    std::uint64_t to_client = 0, from_client = 0;
};

// The access-log line of the SOCKS5 tunnel to `target` (empty `line` if none came).
log_line socks_line(const ferry_process& ferry, const std::string& target) {
    log_line l;
    l.line = wait_for_line(ferry, {" SOCKS5 " + target + " "});
    static const std::regex format(R"(^\S+ \S+ (\S+) (\S+) (\d{3}) (\d+) (\d+) \d+\.\d{3}ms(.*)$)");
    std::smatch m;
    if (!std::regex_match(l.line, m, format)) return l;
    l.method = m.str(1);
    l.target = m.str(2);
    l.status = std::stoi(m.str(3));
    l.to_client = std::stoull(m.str(4));
    l.from_client = std::stoull(m.str(5));
    l.extras = m.str(6);
    return l;
}

// RFC 1928 sizes. ferry's replies: the method choice (2), the RFC 1929 status (2) after
// credentials, and the reply with an IPv4 BND address (10). A client's CONNECT request for an
// IPv4 address (10) or a name (7 + its length); its RFC 1929 message (3 + user + password).
constexpr std::uint64_t server_handshake(bool authenticated) {
    return 2 + (authenticated ? 2 : 0) + 10;
}
std::uint64_t request_size(const std::string& host) {
    return host.find_first_not_of("0123456789.") == std::string::npos ? 10 : 7 + host.size();
}
std::uint64_t credentials_size(const std::string& user, const std::string& pass) {
    return 3 + user.size() + pass.size();
}

// ferry with one socks5:// listener and no htpasswd (loopback clients pass without a user),
// its names from a test DNS server that knows origin_name.
class Socks5Clients : public ::testing::Test {
protected:
    static std::vector<std::string> socks_args(const test_dns& dns) {
        return {"--listen",       "socks5://127.0.0.1:0", "--dns-server",
                dns.server_arg(), "--log-flush-interval", "0"};
    }
    void SetUp() override {
        ASSERT_TRUE(dir.ok());
        ASSERT_TRUE(dns.ok());
        dns.set(origin_name, {"127.0.0.1"});
        std::filesystem::create_directories(dir.path("www"));
        ferry = std::make_unique<ferry_process>(args(), false);
        ASSERT_TRUE(ferry->started()) << ferry->err();
        ASSERT_TRUE(ferry->wait_for_out(
            fmt::format("Starting proxy server on port {} (socks5://127.0.0.1)", ferry->port())))
            << ferry->out();
    }
    virtual std::vector<std::string> args() { return socks_args(dns); }
    int proxy_port() const { return ferry->port(); }
    std::string proxy() const { return fmt::format("127.0.0.1:{}", proxy_port()); }

    // curl with `args`, every proxy variable of the environment unset.
    command_result curl(const std::vector<std::string>& args) const {
        auto argv = without_proxy_environment();
        argv.insert(argv.end(), {"curl", "-sS", "--max-time", "60"});
        argv.insert(argv.end(), args.begin(), args.end());
        return run_program(argv, 70s);
    }

    temp_dir dir;
    test_dns dns;
    std::unique_ptr<ferry_process> ferry;
};

// The same with an htpasswd file (alice) and no rules: every client must authenticate.
class Socks5ClientsWithUsers : public Socks5Clients {
protected:
    std::vector<std::string> args() override {
        const auto hash = shell_output(fmt::format("openssl passwd -6 '{}'", password));
        std::ofstream(dir.path("htpasswd")) << "alice:" << hash << "\n";
        auto a = socks_args(dns);
        a.insert(a.end(), {"--htpasswd", dir.path("htpasswd")});
        return a;
    }
};

// curl's output: the body, then its -w fields after '|' (the body may hold '|' too).
std::vector<std::string> fields(const std::string& s, std::size_t n) {
    std::vector<std::string> out(n + 1);
    std::size_t end = s.size();
    for (std::size_t i = n; i > 0; --i) {
        if (end == 0) return {};
        const auto bar = s.rfind('|', end - 1);
        if (bar == std::string::npos) return {};
        out[i] = s.substr(bar + 1, end - bar - 1);
        end = bar;
    }
    out[0] = s.substr(0, end);
    return out;
}

// -w fields: the status, then the bytes curl read (heads and body) and wrote (head and body).
constexpr const char* counts = "|%{http_code}|%{size_header}|%{size_download}|%{size_request}|"
                               "%{size_upload}";
struct curl_counts {
    std::string body;
    int status = 0;
    std::uint64_t read = 0, written = 0;
};
curl_counts counts_of(const std::string& out) {
    const auto f = fields(out, 5);
    curl_counts c;
    if (f.size() < 6) return c;
    c.body = f[0];
    c.status = std::stoi(f[1]);
    c.read = std::stoull(f[2]) + std::stoull(f[3]);
    c.written = std::stoull(f[4]) + std::stoull(f[5]);
    return c;
}

// curl offers no-auth, GSS-API when built with it, and user/password with --proxy-user: its
// greeting is 2 bytes plus 1 to 3 methods. What ferry logged from the client beyond the
// tunnel's bytes and the other handshake messages must be such a greeting.
void expect_curl_greeting(const log_line& l, std::uint64_t tunnel_up, std::uint64_t others) {
    ASSERT_GE(l.from_client, tunnel_up + others + 3) << l.line;
    EXPECT_LE(l.from_client, tunnel_up + others + 5) << l.line;
}

} // namespace

// --socks5: curl resolves and sends ferry an address (IPv4, and IPv6 where ::1 works);
// --socks5-hostname: curl sends the name, which only ferry's resolver (the test DNS) knows.
TEST_F(Socks5Clients, CurlGetsThroughWithAnAddressAndWithAName) {
    test_origin origin;
    auto r = curl({"--socks5", proxy(), "-w", counts, origin.url("/size/1000")});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    const auto by_address = counts_of(r.out);
    EXPECT_EQ(by_address.status, 200);
    EXPECT_EQ(by_address.body, pattern(1000));

    const auto named = fmt::format("http://{}:{}/size/2000", origin_name, origin.port());
    r = curl({"--socks5-hostname", proxy(), "-w", counts, named});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    const auto by_name = counts_of(r.out);
    EXPECT_EQ(by_name.status, 200);
    EXPECT_EQ(by_name.body, pattern(2000));
    EXPECT_GE(dns.queries(origin_name), 1) << "ferry did not resolve the name";

    // Each tunnel's line: SOCKS5, its target, 200, every byte each way.
    const auto a = socks_line(*ferry, origin.authority());
    ASSERT_FALSE(a.line.empty()) << ferry->out();
    EXPECT_EQ(a.method, "SOCKS5") << a.line;
    EXPECT_EQ(a.status, 200) << a.line;
    EXPECT_EQ(a.to_client, server_handshake(false) + by_address.read) << a.line;
    expect_curl_greeting(a, by_address.written, request_size("127.0.0.1"));
    const auto n = socks_line(*ferry, fmt::format("{}:{}", origin_name, origin.port()));
    ASSERT_FALSE(n.line.empty()) << ferry->out();
    EXPECT_EQ(n.status, 200) << n.line;
    EXPECT_EQ(n.to_client, server_handshake(false) + by_name.read) << n.line;
    expect_curl_greeting(n, by_name.written, request_size(origin_name));

    if (!ipv6_loopback_available()) return; // the rest needs ::1
    test_origin v6(test_origin::handler{}, true);
    r = curl(
        {"--socks5", proxy(), "-w", counts, fmt::format("http://[::1]:{}/size/500", v6.port())});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    const auto by_v6 = counts_of(r.out);
    EXPECT_EQ(by_v6.body, pattern(500));
    // The target in brackets; the reply's BND an IPv6 address (22 bytes, not 10); the
    // request's DST one too (22).
    const auto six = socks_line(*ferry, fmt::format("[::1]:{}", v6.port()));
    ASSERT_FALSE(six.line.empty()) << ferry->out();
    EXPECT_EQ(six.status, 200) << six.line;
    EXPECT_EQ(six.to_client, server_handshake(false) + 12 + by_v6.read) << six.line;
    expect_curl_greeting(six, by_v6.written, 22);
}

// HTTPS through the tunnel: curl verifies the origin's certificate (for localhost) against the
// test CA, and ferry resolved "localhost".
TEST_F(Socks5Clients, CurlHttpsThroughToATlsOrigin) {
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    std::ofstream(files.path("hello.txt")) << "hello over TLS through SOCKS5\n";
    tls_web_origin origin(files);
    ASSERT_TRUE(origin.ready());
    const auto url = fmt::format("https://localhost:{}/hello.txt", origin.port());
    const auto r = curl({"--socks5-hostname", proxy(), "--cacert", files.ca(), url});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    EXPECT_EQ(r.out, "hello over TLS through SOCKS5\n");
    const auto l = socks_line(*ferry, fmt::format("localhost:{}", origin.port()));
    EXPECT_EQ(l.status, 200) << ferry->out();
}

// 100 MiB of random bytes down (GET of a file) and up (PUT to the SHA-256 sink): the SHA-256 on
// the far side equals the near side's, and the access log counts every byte.
TEST_F(Socks5Clients, Curl100MiBEachWayKeepsItsSha256) {
    constexpr std::uint64_t size = 100ull << 20;
    const auto big = dir.path("www/big.bin");
    ASSERT_EQ(shell_output(fmt::format("head -c {} /dev/urandom > '{}' && echo ok", size, big)),
              "ok");
    const auto sha = shell_output(fmt::format("sha256sum '{}' | cut -d' ' -f1", big));
    ASSERT_EQ(sha.size(), 64u);
    python_origin origin(dir);
    ASSERT_TRUE(origin.ready()) << read_file(dir.path("origin.log"));

    const auto got = dir.path("got.bin");
    auto r = curl({"--socks5", proxy(), "-o", got, "-w", counts,
                   fmt::format("http://127.0.0.1:{}/big.bin", origin.port())});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    const auto down = counts_of(r.out);
    EXPECT_EQ(down.status, 200);
    EXPECT_EQ(std::filesystem::file_size(got), size);
    EXPECT_EQ(shell_output(fmt::format("sha256sum '{}' | cut -d' ' -f1", got)), sha)
        << "the body differs from the origin's bytes";
    const auto target = fmt::format("127.0.0.1:{}", origin.port());
    const auto d = socks_line(*ferry, target);
    ASSERT_FALSE(d.line.empty()) << ferry->out();
    EXPECT_EQ(d.to_client, server_handshake(false) + down.read) << d.line;
    EXPECT_GT(d.to_client, size);
    expect_curl_greeting(d, down.written, request_size("127.0.0.1"));

    r = curl({"--socks5-hostname", proxy(), "-T", big, "-w", counts,
              fmt::format("http://{}:{}/upload", origin_name, origin.port())});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    const auto up = counts_of(r.out);
    EXPECT_EQ(up.status, 200);
    EXPECT_EQ(up.body, sha) << "the origin received other bytes than were sent";
    const auto u = socks_line(*ferry, fmt::format("{}:{}", origin_name, origin.port()));
    ASSERT_FALSE(u.line.empty()) << ferry->out();
    EXPECT_EQ(u.to_client, server_handshake(false) + up.read) << u.line;
    expect_curl_greeting(u, up.written, request_size(origin_name));
    EXPECT_GT(u.from_client, size);
}

// ssh through `nc -X 5`, to an sshd of the test's own (its host key checked) on a name only
// ferry can resolve.
TEST_F(Socks5Clients, SshThroughNcProxyCommand) {
    if (::access("/usr/sbin/sshd", X_OK) != 0) GTEST_SKIP() << "/usr/sbin/sshd missing";
    if (shell_output("command -v nc").empty()) GTEST_SKIP() << "nc (netcat-openbsd) missing";
    // sshd insists on its privilege separation directory, even for a root-less run.
    if (::geteuid() == 0) ::mkdir("/run/sshd", 0755);
    if (::access("/run/sshd", F_OK) != 0)
        GTEST_SKIP() << "sshd needs /run/sshd, which a non-root test cannot create";
    const passwd* me = ::getpwuid(::geteuid());
    ASSERT_NE(me, nullptr);
    for (const auto* key : {"host", "client"})
        ASSERT_EQ(shell_output(fmt::format("ssh-keygen -q -t ed25519 -N '' -f '{}' && echo ok",
                                           dir.path(key))),
                  "ok");
    std::filesystem::copy_file(dir.path("client.pub"), dir.path("authorized_keys"));
    const int port = unused_port();
    std::ofstream(dir.path("sshd_config"))
        << fmt::format("Port {}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n"
                       "StrictModes no\nUsePAM no\nPidFile none\nPasswordAuthentication no\n"
                       "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
                       port, dir.path("host"), dir.path("authorized_keys"));
    std::ofstream(dir.path("known_hosts"))
        << fmt::format("[{}]:{} {}", origin_name, port, read_file(dir.path("host.pub")));
    background_program sshd({"/usr/sbin/sshd", "-D", "-e", "-f", dir.path("sshd_config")},
                            dir.path("sshd.log"));
    if (!wait_for_listener(port))
        GTEST_SKIP() << "sshd cannot run here: " << read_file(dir.path("sshd.log"));

    auto argv = without_proxy_environment();
    argv.insert(argv.end(),
                {"ssh", "-F", "/dev/null", "-i", dir.path("client"), "-o", "IdentitiesOnly=yes",
                 "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                 "UserKnownHostsFile=" + dir.path("known_hosts"), "-o",
                 fmt::format("ProxyCommand=nc -X 5 -x {} %h %p", proxy()), "-p",
                 std::to_string(port), fmt::format("{}@{}", me->pw_name, origin_name),
                 "echo ferry-ssh-ok"});
    const auto r = run_program(argv, 30s);
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nsshd:\n"
                                << read_file(dir.path("sshd.log")) << "\nferry:\n"
                                << ferry->err();
    EXPECT_EQ(r.out, "ferry-ssh-ok\n");
    EXPECT_GE(dns.queries(origin_name), 1);
    const auto l = socks_line(*ferry, fmt::format("{}:{}", origin_name, port));
    EXPECT_EQ(l.status, 200) << ferry->out();
}

// git clone over dumb HTTP with ALL_PROXY=socks5h://: the clone's HEAD is the origin's.
TEST_F(Socks5Clients, GitClonesWithAllProxySocks5h) {
    if (shell_output("command -v git").empty()) GTEST_SKIP() << "git missing";
    const auto d = dir.path();
    const auto setup = run_program(
        {"sh", "-c",
         "cd '" + d +
             "' && git init -q work && cd work && echo 'cloned through SOCKS5' > README && "
             "git add README && git -c user.name=t -c user.email=t@test commit -qm one && "
             "cd .. && git clone -q --bare work www/repo.git && cd www/repo.git && "
             "git update-server-info"},
        30s);
    ASSERT_EQ(setup.exit_code(), 0) << setup.out << setup.err;
    python_origin origin(dir);
    ASSERT_TRUE(origin.ready()) << read_file(dir.path("origin.log"));

    auto argv = without_proxy_environment();
    argv.insert(argv.end(),
                {"GIT_TERMINAL_PROMPT=0", "ALL_PROXY=socks5h://" + proxy(), "git", "clone", "-q",
                 fmt::format("http://{}:{}/repo.git", origin_name, origin.port()),
                 dir.path("clone")});
    const auto r = run_program(argv, 60s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
    EXPECT_EQ(read_file(dir.path("clone/README")), "cloned through SOCKS5\n");
    const auto head = shell_output("git -C '" + dir.path("work") + "' rev-parse HEAD");
    EXPECT_EQ(shell_output("git -C '" + dir.path("clone") + "' rev-parse HEAD"), head);
    EXPECT_FALSE(head.empty());
    const auto l = socks_line(*ferry, fmt::format("{}:{}", origin_name, origin.port()));
    EXPECT_EQ(l.status, 200) << ferry->out();
}

// Chromium headless: a page and its script from a name Chromium itself cannot resolve
// (--host-resolver-rules), so the name went to ferry; the script ran (--dump-dom shows it).
TEST_F(Socks5Clients, ChromiumLoadsAPageThroughSocks5) {
    if (::access(chromium, X_OK) != 0)
        GTEST_SKIP() << chromium << " missing (Debian package chromium)";
    std::ofstream(dir.path("www/index.html"))
        << "<!doctype html><html><head><title>ferry</title><script src=\"/app.js\"></script>"
           "</head><body><div id=\"out\">static</div></body></html>\n";
    std::ofstream(dir.path("www/app.js"))
        << "document.addEventListener('DOMContentLoaded', () => {\n"
           "  document.getElementById('out').textContent = 'script ran through SOCKS5';\n"
           "});\n";
    python_origin origin(dir);
    ASSERT_TRUE(origin.ready()) << read_file(dir.path("origin.log"));
    const auto home = dir.path("home");
    std::filesystem::create_directories(home);
    auto argv = without_proxy_environment();
    argv.insert(argv.end(),
                {"HOME=" + home, chromium, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run",
                 "--user-data-dir=" + home + "/profile", "--proxy-server=socks5://" + proxy(),
                 "--proxy-bypass-list=<-loopback>",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--dump-dom",
                 fmt::format("http://{}:{}/", origin_name, origin.port())});
    const auto r = run_program(argv, 60s);
    EXPECT_NE(r.out.find("<div id=\"out\">script ran through SOCKS5</div>"), std::string::npos)
        << r.out << "\nchromium:\n"
        << tail(r.err) << "\nferry:\n"
        << ferry->out() << ferry->err();
    EXPECT_GE(dns.queries(origin_name), 1);
    const auto l = socks_line(*ferry, fmt::format("{}:{}", origin_name, origin.port()));
    EXPECT_EQ(l.status, 200) << ferry->out();
}

// PySocks with rdns=True: the name goes to ferry; the log counts exactly what PySocks sent
// (its 3-byte greeting, the request, the HTTP request) and received.
TEST_F(Socks5Clients, PySocksRawSocketWithRemoteNames) {
    if (run_program({python, "-c", "import socks"}).exit_code() != 0)
        GTEST_SKIP() << "PySocks missing (Debian package python3-socks)";
    test_origin origin;
    temp_file script(pysocks_script);
    const auto r = run_program({python, script.path(), std::to_string(proxy_port()), origin_name,
                                std::to_string(origin.port()), "/size/3000"},
                               20s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
    std::uint64_t sent = 0, received = 0;
    char status[64] = {};
    ASSERT_EQ(std::sscanf(r.out.c_str(), "%lu %lu %63[^\n]", &sent, &received, status), 3) << r.out;
    EXPECT_STREQ(status, "HTTP/1.1 200 OK");
    EXPECT_GT(received, 3000u);
    const auto l = socks_line(*ferry, fmt::format("{}:{}", origin_name, origin.port()));
    ASSERT_FALSE(l.line.empty()) << ferry->out();
    EXPECT_EQ(l.status, 200) << l.line;
    EXPECT_EQ(l.to_client, server_handshake(false) + received) << l.line;
    EXPECT_EQ(l.from_client, 3 + request_size(origin_name) + sent) << l.line;
}

// With credentials: alice gets through and the log names her.
TEST_F(Socks5ClientsWithUsers, CurlWithProxyUserGetsThroughAndTheLogNamesTheUser) {
    test_origin origin;
    const auto r =
        curl({"--socks5-hostname", proxy(), "--proxy-user", std::string("alice:") + password, "-w",
              counts, fmt::format("http://{}:{}/size/1500", origin_name, origin.port())});
    ASSERT_EQ(r.exit_code(), 0) << r.err << "\nferry:\n" << ferry->err();
    const auto c = counts_of(r.out);
    EXPECT_EQ(c.status, 200);
    EXPECT_EQ(c.body, pattern(1500));
    const auto l = socks_line(*ferry, fmt::format("{}:{}", origin_name, origin.port()));
    ASSERT_FALSE(l.line.empty()) << ferry->out();
    EXPECT_EQ(l.method, "SOCKS5");
    EXPECT_EQ(l.status, 200) << l.line;
    EXPECT_NE(l.extras.find("user=\"alice\""), std::string::npos) << l.line;
    EXPECT_EQ(l.to_client, server_handshake(true) + c.read) << l.line;
    expect_curl_greeting(l, c.written,
                         request_size(origin_name) + credentials_size("alice", password));
}

// A wrong password: ferry's RFC 1929 status says no, curl fails and says so, the origin never
// sees a connection. No credentials at all: no method is acceptable.
TEST_F(Socks5ClientsWithUsers, CurlWithAWrongPasswordOrNoneIsRefused) {
    test_origin origin;
    auto r = curl({"--socks5", proxy(), "--proxy-user", "alice:wrong", origin.url("/")});
    EXPECT_EQ(r.exit_code(), 97) << r.out << r.err; // CURLE_PROXY
    EXPECT_NE(r.err.find("User was rejected by the SOCKS5 server"), std::string::npos) << r.err;
    r = curl({"--socks5", proxy(), origin.url("/")});
    EXPECT_EQ(r.exit_code(), 97) << r.out << r.err;
    EXPECT_NE(r.err.find("No authentication method was acceptable"), std::string::npos) << r.err;
    EXPECT_EQ(origin.connections(), 0);
    // The wrong password leaves the line fail2ban reads, as a wrong Basic credential does.
    EXPECT_TRUE(eventually([&] {
        return ferry->err().find("ferry: auth failed for user \"alice\" from 127.0.0.1:") !=
               std::string::npos;
    })) << ferry->err();
}

// PySocks with credentials (RFC 1929): through, and the log counts its messages exactly.
TEST_F(Socks5ClientsWithUsers, PySocksWithCredentials) {
    if (run_program({python, "-c", "import socks"}).exit_code() != 0)
        GTEST_SKIP() << "PySocks missing (Debian package python3-socks)";
    test_origin origin;
    temp_file script(pysocks_script);
    const std::vector<std::string> base{python,
                                        script.path(),
                                        std::to_string(proxy_port()),
                                        "127.0.0.1",
                                        std::to_string(origin.port()),
                                        "/size/700"};
    auto argv = base;
    argv.insert(argv.end(), {"alice", password});
    const auto r = run_program(argv, 20s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry->err();
    std::uint64_t sent = 0, received = 0;
    char status[64] = {};
    ASSERT_EQ(std::sscanf(r.out.c_str(), "%lu %lu %63[^\n]", &sent, &received, status), 3) << r.out;
    EXPECT_STREQ(status, "HTTP/1.1 200 OK");
    const auto l = socks_line(*ferry, origin.authority());
    ASSERT_FALSE(l.line.empty()) << ferry->out();
    EXPECT_NE(l.extras.find("user=\"alice\""), std::string::npos) << l.line;
    EXPECT_EQ(l.to_client, server_handshake(true) + received) << l.line;
    // PySocks offers no-auth and user/password (4), then its credentials and the request.
    EXPECT_EQ(l.from_client,
              4 + credentials_size("alice", password) + request_size("127.0.0.1") + sent)
        << l.line;

    argv = base;
    argv.insert(argv.end(), {"alice", "wrong"});
    const auto wrong = run_program(argv, 20s);
    EXPECT_NE(wrong.exit_code(), 0);
    EXPECT_NE(wrong.err.find("SOCKS5 authentication failed"), std::string::npos) << wrong.err;
}

// HAProxy's PROXY protocol on ferry's listeners (issue 17): a listener with proxy_protocol
// reads a v1 or v2 header from a balancer it believes, and the client address the header
// carries is the one ferry's access rules, connection limits and access log see. Anything
// else (an untrusted peer, garbage, a header cut short, too large, or none in time) is a
// closed connection, counted by reason on /metrics and said on stderr. Then the real thing:
// HAProxy in TCP mode with send-proxy and send-proxy-v2 in front of an http:// and an
// https:// listener, curl's source address in ferry's log.
#include "support/admin_client.h"
#include "support/client_hello_bytes.h"
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/haproxy.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/requests.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/test_dns.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <csignal>
#include <fstream>
#include <netinet/in.h>
#include <regex>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// Every listener's port, in the order ferry announced them.
std::vector<int> listener_ports(const ferry_process& ferry) {
    std::vector<int> ports;
    const auto out = ferry.out();
    static const std::regex line("Starting proxy server on port ([0-9]+) ");
    for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it)
        ports.push_back(std::stoi((*it)[1]));
    return ports;
}

// A connection to 127.0.0.1:port from a chosen loopback source address.
tcp_stream connect_from(const char* source, int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return {};
    }
    return tcp_stream(fd);
}

std::string v1(const std::string& source, int source_port, int port) {
    return "PROXY TCP4 " + source + " 127.0.0.1 " + std::to_string(source_port) + " " +
           std::to_string(port) + "\r\n";
}

// A v2 header: version 2 and `command`, family and protocol, then `payload`.
std::string v2(unsigned char command, unsigned char family, const std::string& payload) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += char(0x20 | command);
    h += char(family);
    h += char(payload.size() >> 8);
    h += char(payload.size() & 0xff);
    return h + payload;
}

// TCP over IPv6 from [2001:db8::5]:443, then TLVs: ALPN "h2", an authority, a custom one.
std::string v2_ipv6_with_tlvs(int port) {
    std::string block(36, '\0');
    block[0] = char(0x20), block[1] = char(0x01), block[2] = char(0x0d), block[3] = char(0xb8);
    block[15] = 5;
    block[31] = 1;
    block[32] = char(443 >> 8), block[33] = char(443 & 0xff);
    block[34] = char(port >> 8), block[35] = char(port & 0xff);
    block += std::string("\x01\x00\x02h2", 5);
    block += std::string("\x02\x00\x0b", 3) + "example.org";
    block += std::string("\xE0\x01\x00", 3) + std::string(256, 'x');
    return v2(1, 0x21, block);
}

class ProxyProtocol : public ::testing::Test {
protected:
    // One ferry for the suite: a PROXY protocol listener that believes 127.0.0.1, one that
    // believes only 127.0.0.2, access rules on client addresses the headers carry, one
    // connection per client address, a short header deadline, /metrics.
    static void SetUpTestSuite() {
        origin_ = new test_origin();
        // The origin is on loopback, and a PROXY-protocol listener turns safe destinations on.
        config_ = new temp_file(R"(
safe_destinations = "off"
proxy_protocol_timeout = 0.5
max_connections_per_client = 1
admin_listen = "127.0.0.1:0"

[[listener]]
address = "127.0.0.1:0"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.1/32"]

[[listener]]
address = "127.0.0.1:0"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.2"]

[[acl]]
name = "the balanced clients"
action = "allow"
client = ["192.0.2.0/24", "2001:db8::/32", "127.0.0.0/8"]
)");
        ferry_ = new ferry_process({"--config", config_->path()}, false);
    }
    static void TearDownTestSuite() {
        delete ferry_;
        delete config_;
        delete origin_;
    }
    void SetUp() override {
        ASSERT_TRUE(ferry_->started()) << ferry_->err();
        ports_ = listener_ports(*ferry_);
        ASSERT_EQ(ports_.size(), 2u) << ferry_->out();
        admin_ = admin_port(*ferry_);
        ASSERT_NE(admin_, 0);
    }

    int port() const { return ports_[0]; }
    double refused(const std::string& reason) const {
        return fetch_metric(admin_,
                            "ferry_proxy_protocol_refused_total{reason=\"" + reason + "\"}");
    }
    // The connection is closed by ferry without a byte of answer, and counted under `reason`.
    void expect_closed(tcp_stream& s, const std::string& reason, double before,
                       std::chrono::milliseconds within = 3s) {
        const auto started = std::chrono::steady_clock::now();
        EXPECT_EQ(s.read_until_close(within), "");
        EXPECT_LT(std::chrono::steady_clock::now() - started, within) << "not closed in time";
        EXPECT_TRUE(eventually([&] { return refused(reason) == before + 1; }))
            << reason << ": " << refused(reason) << ", was " << before;
    }

    static test_origin* origin_;
    static temp_file* config_;
    static ferry_process* ferry_;
    std::vector<int> ports_;
    int admin_ = 0;
};

test_origin* ProxyProtocol::origin_ = nullptr;
temp_file* ProxyProtocol::config_ = nullptr;
ferry_process* ProxyProtocol::ferry_ = nullptr;

TEST_F(ProxyProtocol, V1TheCarriedClientIsLoggedAndJudged) {
    auto s = tcp_stream::connect_to(port());
    ASSERT_TRUE(s.send_all(v1("192.0.2.7", 51000, port()) + get(*origin_, 10)));
    auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), pattern(10));
    EXPECT_FALSE(wait_for_line(*ferry_, {" 192.0.2.7:51000 GET ", "/size/10 200"}).empty())
        << ferry_->out();

    // Another client behind the same balancer, whom no rule allows: 403, by its own address.
    auto denied = tcp_stream::connect_to(port());
    ASSERT_TRUE(denied.send_all(v1("203.0.113.9", 40000, port()) + get(*origin_, 10)));
    EXPECT_EQ(status_of(denied.read_response(5s)), 403);
    EXPECT_FALSE(wait_for_line(*ferry_, {" 203.0.113.9:40000 GET ", " 403 "}).empty())
        << ferry_->out();
}

TEST_F(ProxyProtocol, V1SplitOverWritesWaitsForTheWholeLine) {
    auto s = tcp_stream::connect_to(port());
    const auto header = v1("192.0.2.8", 51001, port());
    ASSERT_TRUE(s.send_all(header.substr(0, 9)));
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(s.send_all(header.substr(9, 20)));
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(s.send_all(header.substr(29) + get(*origin_, 11)));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
    EXPECT_FALSE(wait_for_line(*ferry_, {" 192.0.2.8:51001 GET "}).empty()) << ferry_->out();
}

TEST_F(ProxyProtocol, V2WithTlvsCarriesAnIpv6ClientOverIpv4) {
    auto s = tcp_stream::connect_to(port());
    ASSERT_TRUE(s.send_all(v2_ipv6_with_tlvs(port()) + get(*origin_, 12)));
    auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), pattern(12));
    EXPECT_FALSE(wait_for_line(*ferry_, {" [2001:db8::5]:443 GET ", "/size/12 200"}).empty())
        << ferry_->out();
}

TEST_F(ProxyProtocol, V2LocalIsTheBalancersOwnConnection) {
    auto s = tcp_stream::connect_to(port());
    const int own_port = local_port_of(s);
    ASSERT_TRUE(s.send_all(v2(0, 0x00, "") + get(*origin_, 13)));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
    EXPECT_FALSE(
        wait_for_line(*ferry_, {" 127.0.0.1:" + std::to_string(own_port) + " GET ", "/size/13"})
            .empty())
        << ferry_->out();
}

TEST_F(ProxyProtocol, PerClientLimitsCountTheCarriedAddress) {
    // Three connections from 127.0.0.1; the limit is one per client: the second carrying the
    // same client is refused, the third carrying another is served.
    auto first = tcp_stream::connect_to(port());
    ASSERT_TRUE(first.send_all(v1("192.0.2.20", 1000, port()) + get(*origin_, 14)));
    ASSERT_EQ(status_of(first.read_response(5s)), 200);
    auto same = tcp_stream::connect_to(port());
    same.send_all(v1("192.0.2.20", 1001, port()) + get(*origin_, 14));
    auto r = same.read_until_close(5s);
    EXPECT_EQ(status_of(r), 503) << r;
    EXPECT_NE(r.find("192.0.2.20"), std::string::npos) << r;
    auto other = tcp_stream::connect_to(port());
    ASSERT_TRUE(other.send_all(v1("192.0.2.21", 1002, port()) + get(*origin_, 14)));
    EXPECT_EQ(status_of(other.read_response(5s)), 200);
}

TEST_F(ProxyProtocol, GarbageIsClosedWithoutAnAnswerAndSaidOnStderr) {
    const auto before = refused("malformed");
    auto s = tcp_stream::connect_to(port());
    ASSERT_TRUE(s.send_all(get(*origin_, 10)));
    expect_closed(s, "malformed", before);
    EXPECT_TRUE(eventually([&] {
        return ferry_->err().find("ferry: PROXY protocol: closed 127.0.0.1:") !=
                   std::string::npos &&
               ferry_->err().find(": malformed (not a PROXY protocol header)") != std::string::npos;
    })) << ferry_->err();
    // A broken v1 line is no better.
    auto bad = tcp_stream::connect_to(port());
    ASSERT_TRUE(bad.send_all("PROXY TCP4 192.0.2.7 127.0.0.1 051000 80\r\n"));
    expect_closed(bad, "malformed", before + 1);
}

TEST_F(ProxyProtocol, TruncatedThenClosedIsCounted) {
    const auto before = refused("closed");
    auto s = tcp_stream::connect_to(port());
    ASSERT_TRUE(s.send_all("PROXY TCP4 192.0.2.7 127.0"));
    s.shutdown_write();
    expect_closed(s, "closed", before, 400ms); // at once, not at the deadline
}

TEST_F(ProxyProtocol, OversizedHeadersAreRefused) {
    const auto before = refused("too_large");
    auto s = tcp_stream::connect_to(port());
    ASSERT_TRUE(s.send_all(v2(1, 0x11, std::string(5000, 'x'))));
    expect_closed(s, "too_large", before);
    auto line = tcp_stream::connect_to(port());
    ASSERT_TRUE(line.send_all("PROXY UNKNOWN " + std::string(120, 'a')));
    expect_closed(line, "too_large", before + 1);
}

TEST_F(ProxyProtocol, NoHeaderWithinTheDeadlineIsClosed) {
    const auto before = refused("timeout");
    auto s = tcp_stream::connect_to(port());
    ASSERT_TRUE(s.send_all("PROXY TCP4 "));
    const auto started = std::chrono::steady_clock::now();
    expect_closed(s, "timeout", before);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms) << "closed before the deadline";
}

TEST_F(ProxyProtocol, AnUntrustedPeerIsClosedBeforeAnythingIsRead) {
    const auto before = refused("untrusted");
    // The second listener believes 127.0.0.2 only; this comes from 127.0.0.1 with a header.
    auto s = tcp_stream::connect_to(ports_[1]);
    s.send_all(v1("192.0.2.9", 1, ports_[1]) + get(*origin_, 10));
    expect_closed(s, "untrusted", before);
    EXPECT_TRUE(eventually([&] {
        return ferry_->err().find(": untrusted (not in proxy_protocol_from)") != std::string::npos;
    })) << ferry_->err();
    // From 127.0.0.2 the same header is believed.
    auto trusted = connect_from("127.0.0.2", ports_[1]);
    ASSERT_TRUE(trusted.ok());
    ASSERT_TRUE(trusted.send_all(v1("192.0.2.9", 2, ports_[1]) + get(*origin_, 15)));
    EXPECT_EQ(status_of(trusted.read_response(5s)), 200);
    EXPECT_FALSE(wait_for_line(*ferry_, {" 192.0.2.9:2 GET ", "/size/15"}).empty());
}

TEST_F(ProxyProtocol, StderrSaysOneLineASecondPerReason) {
    const auto before = refused("malformed");
    std::this_thread::sleep_for(1100ms); // past any earlier line's second
    const auto lines_before = [&] {
        const auto err = ferry_->err();
        std::size_t n = 0;
        for (auto at = err.find(": malformed ("); at != std::string::npos;
             at = err.find(": malformed (", at + 1))
            ++n;
        return n;
    };
    const auto n0 = lines_before();
    for (int i = 0; i < 5; ++i) {
        auto s = tcp_stream::connect_to(port());
        s.send_all("garbage\r\n");
        EXPECT_EQ(s.read_until_close(3s), "");
    }
    ASSERT_TRUE(eventually([&] { return refused("malformed") == before + 5; }));
    EXPECT_EQ(lines_before(), n0 + 1) << ferry_->err();
    std::this_thread::sleep_for(1100ms);
    auto s = tcp_stream::connect_to(port());
    s.send_all("garbage\r\n");
    EXPECT_EQ(s.read_until_close(3s), "");
    EXPECT_TRUE(eventually([&] {
        return ferry_->err().find("; 4 more closed for this reason since the last line") !=
               std::string::npos;
    })) << ferry_->err();
}

// A reload that turns the PROXY protocol on reopens the listener on its port: new connections
// must send a header; one accepted before goes on without.
TEST(ProxyProtocolReload, TurningItOnReopensTheListenerOnItsPort) {
    test_origin origin;
    // The origin is on loopback: once the PROXY protocol is on, safe destinations would be.
    const std::string plain =
        "safe_destinations = \"off\"\n[[listener]]\naddress = \"127.0.0.1:0\"\n";
    temp_file config(plain);
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto before = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(before.send_all(get(origin, 20)));
    ASSERT_EQ(status_of(before.read_response(5s)), 200);

    std::ofstream(config.path())
        << plain << "proxy_protocol = true\nproxy_protocol_from = [\"127.0.0.1\"]\n";
    const auto said = [&] {
        return ferry.err().find("ferry: configuration reloaded") != std::string::npos;
    };
    ASSERT_EQ(::kill(ferry.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually(said)) << ferry.err();

    // The new acceptors read a header; without one the connection is closed unanswered.
    EXPECT_TRUE(eventually([&] {
        auto s = tcp_stream::connect_to(ferry.port());
        s.send_all(get(origin, 21));
        return s.read_until_close(2s).empty();
    })) << ferry.err();
    auto proxied = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(proxied.send_all(v1("192.0.2.30", 3000, ferry.port()) + get(origin, 22)));
    EXPECT_EQ(status_of(proxied.read_response(5s)), 403) << "192.0.2.30 is not loopback";
    EXPECT_FALSE(wait_for_line(ferry, {" 192.0.2.30:3000 GET ", " 403 "}).empty()) << ferry.out();
    // The connection accepted before the reload carries on as it was.
    ASSERT_TRUE(before.send_all(get(origin, 23)));
    EXPECT_EQ(status_of(before.read_response(5s)), 200);
}

// ---- HAProxy in front ----

// curl through `proxy` from 127.0.0.5 (HAProxy connects to ferry from 127.0.0.1): the status.
std::string curl_from_127_0_0_5(const std::vector<std::string>& proxy_args,
                                const std::string& url) {
    std::vector<std::string> argv{"curl",      "-sS", "--max-time", "5",  "--interface",
                                  "127.0.0.5", "-o",  "/dev/null",  "-w", "%{http_code}"};
    argv.insert(argv.end(), proxy_args.begin(), proxy_args.end());
    argv.push_back(url);
    const auto r = run_program(argv, 10s);
    return r.out + r.err;
}

TEST(ProxyProtocolHaproxy, SendProxyAndSendProxyV2ShowTheClientHaproxySaw) {
    if (!haproxy_process::installed()) GTEST_SKIP() << "haproxy is not installed";
    tls_files tls;
    ASSERT_TRUE(tls.ok()) << tls.error();
    test_origin origin;
    ferry_process ferry({"--safe-destinations", "off", "--listen",
                         "http://127.0.0.1:0?proxy_protocol_from=127.0.0.1", "--listen",
                         "https://127.0.0.1:0?proxy_protocol_from=127.0.0.1/32", "--tls-cert",
                         tls.proxy_cert(), "--tls-key", tls.proxy_key()},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto ports = listener_ports(ferry);
    ASSERT_EQ(ports.size(), 2u) << ferry.out();
    const int v1_port = unused_port(), v2_port = unused_port(), tls_port = unused_port();
    haproxy_process haproxy(haproxy_defaults() +
                            haproxy_tcp_frontend("v1", v1_port, ports[0], "send-proxy") +
                            haproxy_tcp_frontend("v2", v2_port, ports[0], "send-proxy-v2") +
                            haproxy_tcp_frontend("tls", tls_port, ports[1], "send-proxy-v2"));
    ASSERT_TRUE(haproxy.ready({v1_port, v2_port, tls_port})) << haproxy.log();

    const auto url = origin.url("/size/100");
    EXPECT_EQ(curl_from_127_0_0_5({"-x", "http://127.0.0.1:" + std::to_string(v1_port)}, url),
              "200");
    EXPECT_EQ(curl_from_127_0_0_5({"-x", "http://127.0.0.1:" + std::to_string(v2_port)}, url),
              "200");
    EXPECT_EQ(curl_from_127_0_0_5({"--proxy", "https://127.0.0.1:" + std::to_string(tls_port),
                                   "--proxy-cacert", tls.ca()},
                                  url),
              "200");
    // Three requests, each logged with curl's address: not HAProxy's 127.0.0.1.
    EXPECT_TRUE(eventually([&] {
        std::size_t n = 0;
        for (const auto& line : lines_of(ferry.out()))
            if (line.find(" 127.0.0.5:") != std::string::npos &&
                line.find("/size/100 200") != std::string::npos)
                ++n;
        return n == 3;
    })) << ferry.out();
    for (const auto& line : lines_of(ferry.out()))
        EXPECT_EQ(line.find(" 127.0.0.1:"), std::string::npos) << line;
}

// The header and the client's first bytes in one segment, after ferry is already waiting for
// the header: the front end's sniff that follows must look at what is already there, not
// wait for another wake (epoll is edge-triggered: none would come).
class ProxyProtocolFirstBytes : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tls_ = new tls_files();
        ferry_ = new ferry_process(
            {"--safe-destinations", "off", "--listen",
             "https://127.0.0.1:0?proxy_protocol_from=127.0.0.0/8", "--listen",
             "http://127.0.0.1:0?proxy_protocol_from=127.0.0.0/8", "--socks5-on-http", "on",
             "--http2-cleartext", "on", "--tls-cert", tls_->proxy_cert(), "--tls-key",
             tls_->proxy_key(), "--tls-handshake-timeout", "8", "--header-timeout", "8"},
            false);
    }
    static void TearDownTestSuite() {
        delete ferry_;
        delete tls_;
    }
    void SetUp() override {
        ASSERT_TRUE(tls_->ok()) << tls_->error();
        ASSERT_TRUE(ferry_->started()) << ferry_->err();
        ports_ = listener_ports(*ferry_);
        ASSERT_EQ(ports_.size(), 2u) << ferry_->out();
    }
    // Connected, ferry waiting for the header; then the header and `first` in one write.
    tcp_stream header_with(int port, const std::string& first) {
        auto s = connect_from("127.0.0.1", port);
        std::this_thread::sleep_for(50ms);
        EXPECT_TRUE(s.send_all(v1("127.0.0.9", 5555, port) + first));
        return s;
    }
    static tls_files* tls_;
    static ferry_process* ferry_;
    std::vector<int> ports_;
};

tls_files* ProxyProtocolFirstBytes::tls_ = nullptr;
ferry_process* ProxyProtocolFirstBytes::ferry_ = nullptr;

TEST_F(ProxyProtocolFirstBytes, AClientHelloWithTheHeaderIsAnsweredAtOnce) {
    auto s = header_with(ports_[0], ferry::test::client_hello_bytes(ferry::test::hello_spec{}));
    ASSERT_TRUE(s.ok());
    // A handshake record (ServerHello or HelloRetryRequest) or an alert: an answer, not the
    // handshake timeout's silence.
    const auto got = s.read_exact(1, 3s);
    ASSERT_EQ(got.size(), 1u) << "no answer to the ClientHello within 3 s";
    EXPECT_TRUE(got[0] == '\x16' || got[0] == '\x15') << int(got[0]);
}

TEST_F(ProxyProtocolFirstBytes, ASocksGreetingWithTheHeaderIsServedAsSocks) {
    auto s = header_with(ports_[1], std::string("\x05\x01\x00", 3));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.read_exact(2, 3s), std::string("\x05\x00", 2)) << "no SOCKS5 method reply";
}

TEST_F(ProxyProtocolFirstBytes, AnHttp2PrefaceWithTheHeaderIsServedAsHttp2) {
    auto s = header_with(ports_[1], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    ASSERT_TRUE(s.ok());
    // The server's connection preface: a SETTINGS frame (type 4) first, not a 400.
    const auto frame = s.read_exact(9, 3s);
    ASSERT_EQ(frame.size(), 9u) << "no HTTP/2 SETTINGS within 3 s: " << frame;
    EXPECT_EQ(frame[3], '\x04');
}

// A connection whose PROXY header completes during a drain is served (the header had begun
// to arrive), and its request to a name still resolves: the resolver stays up until every
// accepted connection is done, not only the ones a front end has registered yet.
TEST(ProxyProtocolDrain, AHeaderFinishedDuringTheDrainStillReachesANamedOrigin) {
    test_origin origin;
    test_dns dns; // a name the resolver must look up (localhost is answered without it)
    ASSERT_TRUE(dns.ok());
    dns.set("origin.test", {"127.0.0.1"});
    ferry_process ferry({"--safe-destinations", "off", "--listen",
                         "http://127.0.0.1:0?proxy_protocol_from=127.0.0.1", "--shutdown-timeout",
                         "5", "--dns-server", dns.server_arg()},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto port = listener_ports(ferry).at(0);
    auto s = connect_from("127.0.0.1", port);
    ASSERT_TRUE(s.ok());
    const auto header = v1("127.0.0.9", 4444, port);
    ASSERT_TRUE(s.send_all(header.substr(0, 6)));
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    std::this_thread::sleep_for(300ms); // the drain has begun, and the ticker has run
    const auto authority = "origin.test:" + std::to_string(origin.port());
    ASSERT_TRUE(s.send_all(header.substr(6) + "GET http://" + authority +
                           "/size/10 HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"));
    const auto response = s.read_until_close(4s);
    EXPECT_EQ(status_of(response), 200) << response;
    const int status = ferry.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
}

// A balancer's connection accepted just before a drain, whose header is still on its way, is
// not closed under it (the balancer would not retry): its header gets a moment to begin.
TEST(ProxyProtocolDrain, AHeaderThatBeginsJustAfterTheDrainIsServed) {
    test_origin origin;
    ferry_process ferry({"--safe-destinations", "off", "--listen",
                         "http://127.0.0.1:0?proxy_protocol_from=127.0.0.1", "--admin-listen",
                         "127.0.0.1:0", "--shutdown-timeout", "5"},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto port = listener_ports(ferry).at(0);
    const int admin = admin_port(ferry);
    ASSERT_NE(admin, 0) << ferry.out();
    auto s = connect_from("127.0.0.1", port);
    ASSERT_TRUE(s.ok());
    std::this_thread::sleep_for(100ms); // accepted, waiting for its header
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    ASSERT_TRUE(eventually([&] {
        return admin_get(admin, "GET /healthz HTTP/1.1").find("draining") != std::string::npos;
    })) << "the drain did not begin";
    ASSERT_TRUE(s.send_all(v1("127.0.0.9", 4444, port) + "GET " + origin.url("/size/10") +
                           " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n"));
    const auto response = s.read_until_close(4s);
    EXPECT_EQ(status_of(response), 200) << response;
    const int status = ferry.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
}

TEST(ProxyProtocolConfig, AnIpv4MappedBalancerNetworkIsRefused) {
    // Refused where it is read, before anything listens (an option's mistake: exit 2).
    const auto r =
        run_ferry({"--listen", "http://127.0.0.1:0?proxy_protocol_from=::ffff:10.0.0.0/104"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("IPv4-mapped"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("write it as 10.0.0.0/8"), std::string::npos) << r.err;
}

} // namespace

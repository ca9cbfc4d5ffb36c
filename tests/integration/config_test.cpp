// The configuration file through the real binary: `--config` sets where ferry listens, its Via
// pseudonym and its timeouts; options on the command line win over the file; `--check-config`
// says OK (exit 0) or names the file, line and key of a mistake (exit 2); a bad file never
// starts ferry; ferry.example.toml is valid.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

using namespace ferry_test;

namespace {

// A configuration file in a fresh directory, removed at the end of the test.
class config_file {
public:
    explicit config_file(const std::string& text) {
        std::string pattern = ::testing::TempDir() + "ferry-config-XXXXXX";
        if (mkdtemp(pattern.data())) dir_ = pattern;
        path_ = dir_ + "/ferry.toml";
        std::ofstream(path_) << text;
    }
    ~config_file() {
        if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
    }
    const std::string& path() const { return path_; }

private:
    std::string dir_, path_;
};

// Sends an incomplete request head and measures how long ferry takes to answer 408.
std::chrono::milliseconds time_to_408(int port) {
    auto s = tcp_stream::connect_to(port);
    EXPECT_TRUE(s.ok());
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.send_all("GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    auto answer = s.read_until("\r\n\r\n", 8s);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    EXPECT_EQ(status_of(answer), 408) << printable(answer);
    return took;
}

std::string via_of(const curl_response& r) {
    return header_value(r.headers, "Via");
}

std::string check(const std::string& text, int& exit_code) {
    config_file file(text);
    auto r = run_ferry({"--check-config", file.path()});
    exit_code = r.exit_code();
    // The message names the file by the path given; show it as "F" to keep expectations short.
    std::string said = r.err + r.out;
    for (auto at = said.find(file.path()); at != std::string::npos; at = said.find(file.path()))
        said.replace(at, file.path().size(), "F");
    return said;
}

} // namespace

TEST(Config, SetsListenViaAndTimeouts) {
    test_origin origin;
    const int port = unused_port();
    config_file file(fmt::format("listen = [\"127.0.0.1:{}\"]\nvia = \"corp-proxy\"\n"
                                 "header_timeout = 1\n",
                                 port));
    ferry_process ferry({"--config", file.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.port(), port);

    curl_client client;
    auto r = client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.body, pattern(10));
    EXPECT_EQ(via_of(r), "1.1 corp-proxy") << r.headers;

    auto took = time_to_408(ferry.port());
    EXPECT_GE(took, 700ms);
    EXPECT_LE(took, 3s) << "the file's header_timeout = 1 was not used (the default is 10 s)";
}

TEST(Config, CommandLineOptionsOverrideTheFile) {
    test_origin origin;
    const int file_port = unused_port();
    config_file file(fmt::format("listen = [\"127.0.0.1:{}\"]\nvia = \"from-file\"\n"
                                 "header_timeout = 1\n",
                                 file_port));
    // ferry_process adds the positional port 0, which replaces the file's listen.
    ferry_process ferry({"--config", file.path(), "--via", "from-flag"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_NE(ferry.port(), file_port);
    EXPECT_TRUE(port_is_free(file_port)) << "ferry also listens where the file said";

    curl_client client;
    auto r = client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(via_of(r), "1.1 from-flag") << r.headers;
    // What the command line does not say still comes from the file.
    EXPECT_LE(time_to_408(ferry.port()), 3s);
}

TEST(Config, ExampleFilePassesCheckConfig) {
    const std::string example = std::string(FERRY_SOURCE_DIR) + "/ferry.example.toml";
    auto r = run_ferry({"--check-config", example});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "ferry: " + example + ": OK\n");
    EXPECT_EQ(r.err, "");
}

TEST(Config, CheckConfigSaysOkAndStartsNothing) {
    int code = -1;
    auto out =
        check("listen = [\"127.0.0.1:0\"]\nworkers = 2\n[[acl]]\naction = \"allow\"\n", code);
    EXPECT_EQ(code, 0);
    EXPECT_EQ(out, "ferry: F: OK\n");
}

TEST(Config, CheckConfigNamesUnknownKeyAndLine) {
    int code = -1;
    EXPECT_EQ(check("workers = 2\n\ncolour = \"red\"\n", code),
              "ferry: F:3: unknown key \"colour\"\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("workers = 2\nacces_log = \"/tmp/x.log\"\n", code),
              "ferry: F:2: unknown key \"acces_log\" (did you mean \"access_log\"?)\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("[auth]\nrealm = \"r\"\nrelam = \"r\"\n", code),
              "ferry: F:3: unknown key \"auth.relam\" (did you mean \"auth.realm\"?)\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("[[acl]]\naction = \"deny\"\ndestination = [\"x.example\"]\n", code),
              "ferry: F:3: unknown key \"acl.destination\"\n");
    EXPECT_EQ(code, 2);
}

TEST(Config, CheckConfigNamesWrongType) {
    int code = -1;
    EXPECT_EQ(check("via = \"x\"\nworkers = \"four\"\n", code),
              "ferry: F:2: workers: expected an integer from 1 to 256\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("listen = 3128\n", code),
              "ferry: F:1: listen: expected an array of \"HOST:PORT\" or \"[IPv6]:PORT\"\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("listen = \"127.0.0.1:3128\"\n", code), "ferry: F: OK\n"); // a list of one
    EXPECT_EQ(code, 0);
}

TEST(Config, CheckConfigNamesBadValue) {
    int code = -1;
    EXPECT_EQ(check("via = \"x\"\n\nconnect_ports = [443, 70000]\n", code),
              "ferry: F:3: connect_ports: expected a port 1-65535 or \"any\"\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("[[acl]]\naction = \"maybe\"\n", code),
              "ferry: F:2: acl.action: expected \"allow\" or \"deny\"\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("[[acl]]\naction = \"allow\"\nclient = [\"not-an-ip\"]\n", code),
              "ferry: F:3: acl.client: expected an IP or CIDR\n");
    EXPECT_EQ(code, 2);
}

TEST(Config, CheckConfigRefusesUsersWithoutHtpasswd) {
    int code = -1;
    EXPECT_EQ(check("[[acl]]\naction = \"allow\"\nusers = [\"alice\"]\n", code),
              "ferry: F:1: acl.users: a rule with users needs an htpasswd file ([auth] htpasswd) "
              "or client "
              "certificates (tls_client_ca)\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("[auth]\nhtpasswd = \"/etc/ferry/htpasswd\"\n[[acl]]\naction = \"allow\"\n"
                    "users = [\"alice\"]\n",
                    code),
              "ferry: F: OK\n");
    EXPECT_EQ(code, 0);
}

TEST(Config, PortAndConnectPortsFromTheFile) {
    test_origin origin;
    const int port = unused_port();
    config_file file(fmt::format("port = {}\nconnect_ports = \"any\"\n", port));
    ferry_process ferry({"--config", file.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.port(), port);
    // The origin's port is not 443: only connect_ports = "any" lets CONNECT reach it.
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(
        s.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority())));
    auto answer = s.read_until("\r\n\r\n", 5s);
    EXPECT_EQ(status_of(answer), 200) << printable(answer);

    // The same file with connect_ports = [443]: refused.
    config_file strict(fmt::format("port = {}\nconnect_ports = [443]\n", unused_port()));
    ferry_process ferry443({"--config", strict.path()}, false);
    ASSERT_TRUE(ferry443.started()) << ferry443.err();
    auto t = tcp_stream::connect_to(ferry443.port());
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(
        t.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority())));
    EXPECT_EQ(status_of(t.read_until("\r\n\r\n", 5s)), 403);
}

TEST(Config, CheckConfigNamesSyntaxErrorLineAndColumn) {
    int code = -1;
    auto out = check("workers = 2\nvia = \"unterminated\n", code);
    EXPECT_EQ(code, 2);
    EXPECT_EQ(out.rfind("ferry: F:2:", 0), 0u) << out;
    EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line: " << out;
}

TEST(Config, MissingFileIsNamed) {
    auto r = run_ferry({"--check-config", "/nonexistent/ferry.toml"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, "ferry: /nonexistent/ferry.toml: No such file or directory\n");
    r = run_ferry({"--config", "/nonexistent/ferry.toml"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, "ferry: /nonexistent/ferry.toml: No such file or directory\n");
}

TEST(Config, BadFileNeverStartsFerry) {
    const int port = unused_port();
    config_file file(fmt::format("listen = [\"127.0.0.1:{}\"]\nheader_timeout = -1\n", port));
    auto r = run_ferry({"--config", file.path()});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, "ferry: " + file.path() +
                         ":2: header_timeout: expected a positive number of seconds\n");
    EXPECT_EQ(r.out.find("Starting proxy server"), std::string::npos) << r.out;
    EXPECT_TRUE(port_is_free(port));
}

TEST(Config, ConfigAndCheckConfigTogetherAreRefused) {
    config_file file("");
    auto r = run_ferry({"--config", file.path(), "--check-config", file.path()});
    EXPECT_NE(r.exit_code(), 0);
    EXPECT_EQ(r.out.find("Starting proxy server"), std::string::npos) << r.out;
}

// The file names the key and line of a value out of range, with the same words as the command
// line.
TEST(Config, CheckConfigNamesTheRangeOfSeconds) {
    int code = -1;
    EXPECT_EQ(check("via = \"x\"\nheader_timeout = 0.0001\n", code),
              "ferry: F:2: header_timeout: expected at least 0.001 seconds (one millisecond)\n");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(check("\nflow_log = \"off\"\n", code),
              "ferry: F:2: flow_log: expected a file path, \"-\" or \"stderr\": the flow log is "
              "off unless asked for\n");
    EXPECT_EQ(code, 2);
}

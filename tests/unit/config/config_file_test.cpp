// The configuration file parser: every kind of key, [auth] and [[acl]], command-line
// overrides, and each kind of error named with its file, line and key.
#include "config/config_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace ferry::config {
namespace {

settings parsed(std::string_view text) {
    auto r = parse_config(text, "t.toml");
    EXPECT_TRUE(r.parsed) << r.error;
    return r.parsed ? *r.parsed : settings{};
}

std::string error_of(std::string_view text) {
    auto r = parse_config(text, "t.toml");
    EXPECT_FALSE(r.parsed) << text;
    return r.error;
}

TEST(ConfigFile, EmptyFileKeepsTheDefaults) {
    auto s = parsed("");
    settings d;
    ASSERT_EQ(s.listen.size(), 1u);
    EXPECT_EQ(s.listen[0].host, "127.0.0.1");
    EXPECT_EQ(s.listen[0].port, 9001);
    EXPECT_EQ(s.pseudonym, d.pseudonym);
    EXPECT_EQ(s.connect_ports, d.connect_ports);
    EXPECT_EQ(s.header_timeout, d.header_timeout);
    EXPECT_EQ(s.access_log, "-");
    EXPECT_GE(s.workers, 1u);
    EXPECT_TRUE(s.acl.empty());
    EXPECT_EQ(s.auth.realm, "ferry");
}

TEST(ConfigFile, EveryTopLevelKey) {
    auto s = parsed(R"(
port = 8080
listen = ["0.0.0.0:3128", "[::1]:3129"]
workers = 3
flow = true
access_log = "/var/log/ferry/access.log"
via = "corp-proxy"
header_timeout = 1.5
idle_timeout = 2
connect_timeout = 3
response_timeout = 4
send_timeout = 5
shutdown_timeout = 6
tunnel_idle_timeout = 7
connect_ports = [443, 8443]
dns_server = ["127.0.0.1:5353", "::1"]
dns_timeout = 8
dns_negative_ttl = 0
dns_cache_size = 100
connect_attempt_timeout = 0.25
pool_per_host = 0
pool_total = 10
pool_idle_timeout = 9
parent = "http://alice:secret@proxy.example:3128"
direct = [".corp.example", "10.0.0.0/8", "intranet"]
max_header_size = 2048
max_target_size = 128
)");
    ASSERT_EQ(s.listen.size(), 3u);
    EXPECT_EQ(s.listen[0].host, "127.0.0.1"); // the positional port comes first
    EXPECT_EQ(s.listen[0].port, 8080);
    EXPECT_EQ(s.listen[1].host, "0.0.0.0");
    EXPECT_EQ(s.listen[1].port, 3128);
    EXPECT_EQ(s.listen[2].host, "::1");
    EXPECT_EQ(s.workers, 3u);
    EXPECT_TRUE(s.flow);
    EXPECT_EQ(s.access_log, "/var/log/ferry/access.log");
    EXPECT_EQ(s.pseudonym, "corp-proxy");
    EXPECT_EQ(s.header_timeout, duration(1500));
    EXPECT_EQ(s.idle_timeout, duration(2000));
    EXPECT_EQ(s.connect_timeout, duration(3000));
    EXPECT_EQ(s.response_timeout, duration(4000));
    EXPECT_EQ(s.send_timeout, duration(5000));
    EXPECT_EQ(s.shutdown_timeout, duration(6000));
    EXPECT_EQ(s.tunnel_idle_timeout, duration(7000));
    EXPECT_EQ(s.connect_ports, (std::vector<std::uint16_t>{443, 8443}));
    ASSERT_EQ(s.dns_servers.size(), 2u);
    EXPECT_EQ(s.dns_servers[0].address, "127.0.0.1");
    EXPECT_EQ(s.dns_servers[0].port, 5353);
    EXPECT_EQ(s.dns_servers[1].address, "::1");
    EXPECT_EQ(s.dns_servers[1].port, 53);
    EXPECT_EQ(s.dns_timeout, duration(8000));
    EXPECT_EQ(s.dns_negative_ttl, duration(0));
    EXPECT_EQ(s.dns_cache_size, 100u);
    EXPECT_EQ(s.connect_attempt_timeout, duration(250));
    EXPECT_EQ(s.pool_per_host, 0u);
    EXPECT_EQ(s.pool_total, 10u);
    EXPECT_EQ(s.pool_idle_timeout, duration(9000));
    ASSERT_TRUE(s.parent);
    EXPECT_EQ(s.parent->host, "proxy.example");
    EXPECT_EQ(s.parent->port, 3128);
    EXPECT_EQ(s.parent->authorization, "Basic YWxpY2U6c2VjcmV0");
    ASSERT_EQ(s.direct.size(), 3u);
    EXPECT_EQ(s.direct[0].what, direct_rule::kind::suffix);
    EXPECT_EQ(s.direct[0].name, "corp.example");
    EXPECT_EQ(s.direct[1].what, direct_rule::kind::cidr);
    EXPECT_EQ(s.direct[1].prefix, 8u);
    EXPECT_EQ(s.direct[2].what, direct_rule::kind::host);
    EXPECT_EQ(s.max_header_size, 2048u);
    EXPECT_EQ(s.max_target_size, 128u);
}

TEST(ConfigFile, ConnectPortsAnyIsAnEmptyList) {
    EXPECT_TRUE(parsed(R"(connect_ports = "any")").connect_ports.empty());
}

TEST(ConfigFile, SpliceIsOnUnlessTurnedOff) {
    EXPECT_TRUE(parsed("").splice);
    EXPECT_FALSE(parsed("splice = false").splice);
    EXPECT_EQ(error_of("splice = \"off\""), "t.toml:1: splice: expected true or false");
}

TEST(ConfigFile, FlowTurnsTheAccessLogOffUnlessItIsGiven) {
    EXPECT_EQ(parsed("flow = true").access_log, "off");
    EXPECT_EQ(parsed("flow = true\naccess_log = \"-\"").access_log, "-");
    EXPECT_EQ(parsed("flow = false").access_log, "-");
}

TEST(ConfigFile, AuthTable) {
    auto s = parsed("[auth]\nhtpasswd = \"/etc/ferry/htpasswd\"\nrealm = \"Team proxy\"\n");
    EXPECT_EQ(s.auth.htpasswd, "/etc/ferry/htpasswd");
    EXPECT_EQ(s.auth.realm, "Team proxy");
    EXPECT_EQ(parsed("auth.realm = \"r\"").auth.realm, "r"); // dotted keys are the same table
}

TEST(ConfigFile, AclRulesInOrder) {
    auto s = parsed(R"(
[[acl]]
action = "deny"
name = "no-ads"
dest = [".ads.example", "10.0.0.0/8", "tracker.example", "192.0.2.1"]

[[acl]]
action = "allow"
client = ["127.0.0.0/8", "::1/128", "192.168.1.7"]
users = ["*", "alice"]
ports = [80, 443]
methods = ["get", "POST", "CONNECT"]

[[acl]]
action = "deny"
)");
    ASSERT_EQ(s.acl.size(), 3u);
    const auto& deny = s.acl[0];
    EXPECT_EQ(deny.action, acl_rule::verdict::deny);
    EXPECT_EQ(deny.name, "no-ads");
    EXPECT_EQ(deny.line, 2u);
    ASSERT_EQ(deny.destinations.size(), 4u);
    EXPECT_EQ(deny.destinations[0].what, direct_rule::kind::suffix);
    EXPECT_EQ(deny.destinations[0].name, "ads.example");
    EXPECT_EQ(deny.destinations[1].what, direct_rule::kind::cidr);
    EXPECT_EQ(deny.destinations[1].network, "10.0.0.0");
    EXPECT_EQ(deny.destinations[2].what, direct_rule::kind::host);
    EXPECT_EQ(deny.destinations[3].what, direct_rule::kind::cidr);
    EXPECT_EQ(deny.destinations[3].prefix, 32u);
    EXPECT_TRUE(deny.clients.empty());
    EXPECT_FALSE(deny.users_given);

    const auto& allow = s.acl[1];
    EXPECT_EQ(allow.action, acl_rule::verdict::allow);
    EXPECT_EQ(allow.name, "");
    EXPECT_EQ(allow.line, 7u);
    ASSERT_EQ(allow.clients.size(), 3u);
    EXPECT_EQ(allow.clients[1].network, "::1");
    EXPECT_EQ(allow.clients[1].prefix, 128u);
    EXPECT_EQ(allow.clients[2].prefix, 32u);
    EXPECT_TRUE(allow.users_given);
    EXPECT_EQ(allow.users, (std::vector<std::string>{"*", "alice"}));
    EXPECT_EQ(allow.ports, (std::vector<std::uint16_t>{80, 443}));
    EXPECT_EQ(allow.methods, (std::vector<std::string>{"GET", "POST", "CONNECT"}));

    EXPECT_EQ(s.acl[2].line, 14u);
    EXPECT_TRUE(s.acl[2].destinations.empty());
}

TEST(ConfigFile, KeysGivenAreRecorded) {
    auto r =
        parse_config("workers = 2\n[auth]\nrealm = \"r\"\n[[acl]]\naction = \"allow\"\n", "t.toml");
    ASSERT_TRUE(r.parsed) << r.error;
    EXPECT_TRUE(r.given.contains("workers"));
    EXPECT_TRUE(r.given.contains("auth.realm"));
    EXPECT_TRUE(r.given.contains("acl"));
    EXPECT_FALSE(r.given.contains("via"));
}

TEST(ConfigFile, CommandLineOptionsOverrideTheFile) {
    settings file = parsed("via = \"from-file\"\nworkers = 2\nlisten = [\"127.0.0.1:3128\"]\n"
                           "header_timeout = 3\n");
    settings command_line;
    command_line.pseudonym = "from-flag";
    command_line.workers = 7;
    command_line.listen = {{"127.0.0.1", 4000}};
    command_line.header_timeout = duration(9000);
    std::set<std::string, std::less<>> flags{"--via", "port"};
    apply_command_line(file, command_line,
                       [&](std::string_view flag) { return flags.contains(flag); });
    EXPECT_EQ(file.pseudonym, "from-flag");
    EXPECT_EQ(file.workers, 2u); // --workers not given: the file's value stays
    ASSERT_EQ(file.listen.size(), 1u);
    EXPECT_EQ(file.listen[0].port, 4000); // the positional port replaces the file's listen
    EXPECT_EQ(file.header_timeout, duration(3000));
}

TEST(ConfigFile, EveryKeyWithAFlagIsOverridable) {
    // Each key but the [auth] ones (whose options come later) names its option.
    settings file, command_line;
    command_line.pseudonym = "x";
    std::vector<std::string> asked;
    apply_command_line(file, command_line, [&](std::string_view flag) {
        asked.emplace_back(flag);
        return false;
    });
    EXPECT_GE(asked.size(), 26u);
    EXPECT_EQ(file.pseudonym, "ferry");
}

TEST(ConfigFile, SyntaxErrorNamesFileLineAndColumn) {
    auto e = error_of("workers = 2\nvia = \n");
    EXPECT_EQ(e.rfind("t.toml:2:", 0), 0u) << e;
    e = error_of("a = 1\na = 2\n");
    EXPECT_EQ(e.rfind("t.toml:2:", 0), 0u) << e;
}

TEST(ConfigFile, UnknownKeysNameTheirLine) {
    EXPECT_EQ(error_of("workers = 2\n\ncolour = \"red\"\n"), "t.toml:3: unknown key \"colour\"");
    EXPECT_EQ(error_of("header-timeout = 3"),
              "t.toml:1: unknown key \"header-timeout\" (did you mean \"header_timeout\"?)");
    EXPECT_EQ(error_of("acces_log = \"-\""),
              "t.toml:1: unknown key \"acces_log\" (did you mean \"access_log\"?)");
    EXPECT_EQ(error_of("[auth]\nrealm = \"r\"\nuser = \"x\"\n"),
              "t.toml:3: unknown key \"auth.user\"");
    EXPECT_EQ(error_of("[auth]\nrelam = \"r\"\n"),
              "t.toml:2: unknown key \"auth.relam\" (did you mean \"auth.realm\"?)");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nclients = [\"::1\"]\n"),
              "t.toml:3: unknown key \"acl.clients\" (did you mean \"acl.client\"?)");
    EXPECT_EQ(error_of("[server]\nport = 1\n"), "t.toml:1: unknown key \"server\"");
    // The one nearest the top is reported, though tables iterate by name.
    EXPECT_EQ(error_of("zzz = 1\naaa = 2\n"), "t.toml:1: unknown key \"zzz\"");
}

TEST(ConfigFile, WrongTypesNameKeyAndLine) {
    EXPECT_EQ(error_of("\nworkers = \"4\""),
              "t.toml:2: workers: expected an integer from 1 to 256");
    EXPECT_EQ(error_of("flow = 1"), "t.toml:1: flow: expected true or false");
    EXPECT_EQ(error_of("via = 3"), "t.toml:1: via: expected a string");
    EXPECT_EQ(error_of("listen = 3128"),
              "t.toml:1: listen: expected an array of \"HOST:PORT\" or \"[IPv6]:PORT\"");
    EXPECT_EQ(parsed("listen = \"127.0.0.1:3128\"").listen, // a list of one
              (std::vector<listen_address>{{"127.0.0.1", 3128, "http"}}));
    EXPECT_EQ(error_of("header_timeout = \"10s\""),
              "t.toml:1: header_timeout: expected a number of seconds");
    EXPECT_EQ(error_of("connect_ports = 443"),
              "t.toml:1: connect_ports: expected a port 1-65535 or \"any\"");
    EXPECT_EQ(error_of("auth = \"x\""), "t.toml:1: auth: expected a table ([auth])");
    EXPECT_EQ(error_of("acl = 1"), "t.toml:1: acl: expected [[acl]] tables");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nports = \"80\"\n"),
              "t.toml:3: acl.ports: expected a port 1-65535");
}

TEST(ConfigFile, BadValuesNameKeyAndLine) {
    EXPECT_EQ(error_of("connect_ports = [443,\n  0]"),
              "t.toml:2: connect_ports: expected a port 1-65535 or \"any\"");
    EXPECT_EQ(error_of("connect_ports = [70000]"),
              "t.toml:1: connect_ports: expected a port 1-65535 or \"any\"");
    EXPECT_EQ(error_of("connect_ports = \"all\""),
              "t.toml:1: connect_ports: expected a port 1-65535 or \"any\"");
    EXPECT_EQ(error_of("workers = 0"), "t.toml:1: workers: expected an integer from 1 to 256");
    EXPECT_EQ(error_of("port = 65536"), "t.toml:1: port: expected a port 0-65535");
    EXPECT_EQ(error_of("listen = [\n\"127.0.0.1:3128\",\n\"nope\"]"),
              "t.toml:3: listen: expected \"HOST:PORT\" or \"[IPv6]:PORT\"");
    EXPECT_EQ(error_of("listen = []"),
              "t.toml:1: listen: expected at least one of \"HOST:PORT\" or \"[IPv6]:PORT\"");
    EXPECT_EQ(error_of("idle_timeout = 0"),
              "t.toml:1: idle_timeout: expected a positive number of seconds");
    EXPECT_EQ(error_of("dns_negative_ttl = -1"),
              "t.toml:1: dns_negative_ttl: expected zero or more seconds");
    EXPECT_EQ(error_of("dns_server = [\"dns.example\"]"),
              "t.toml:1: dns_server: expected \"IP\", \"IP:PORT\" or \"[IPv6]:PORT\"");
    EXPECT_EQ(error_of("direct = [\"bad host\"]"),
              "t.toml:1: direct: expected a host, \".domain\", IP or CIDR");
    EXPECT_EQ(error_of("max_header_size = 10"),
              "t.toml:1: max_header_size: expected an integer from 1024 to 16777216");
    EXPECT_EQ(error_of("via = \"two words\""),
              "t.toml:1: via: expected a name without spaces, commas, parentheses or quotes");
    EXPECT_EQ(error_of("access_log = \"\""), "t.toml:1: access_log: expected a non-empty string");
    EXPECT_EQ(error_of("[auth]\nrealm = \"a\\\"b\""),
              "t.toml:2: auth.realm: a realm cannot contain quotes or backslashes");
}

TEST(ConfigFile, ParentErrorsNeverShowThePassword) {
    auto e = error_of("parent = \"ftp://alice:secret@proxy:3128\"");
    EXPECT_EQ(e.rfind("t.toml:1: parent: ", 0), 0u) << e;
    EXPECT_EQ(e.find("secret"), std::string::npos) << e;
}

TEST(ConfigFile, BadAclRulesNameKeyAndLine) {
    EXPECT_EQ(error_of("[[acl]]\nname = \"x\"\n"),
              "t.toml:1: acl.action: missing: every rule needs \"allow\" or \"deny\"");
    EXPECT_EQ(error_of("[[acl]]\naction = \"permit\"\n"),
              "t.toml:2: acl.action: expected \"allow\" or \"deny\"");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nclient = [\"example.com\"]\n"),
              "t.toml:3: acl.client: expected an IP or CIDR");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nclient = [\"10.0.0.0/33\"]\n"),
              "t.toml:3: acl.client: expected an IP or CIDR");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\ndest = [\"a b\"]\n"),
              "t.toml:3: acl.dest: expected a host, \".domain\", IP or CIDR");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nports = [0]\n"),
              "t.toml:3: acl.ports: expected a port 1-65535");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nmethods = [\"GET POST\"]\n"),
              "t.toml:3: acl.methods: expected a method name like \"GET\"");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nusers = []\n"),
              "t.toml:3: acl.users: expected at least one of a user name or \"*\"");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\nusers = [1]\n"),
              "t.toml:3: acl.users: expected a user name or \"*\"");
    EXPECT_EQ(error_of("[[acl]]\naction = \"allow\"\n\n[[acl]]\naction = \"deny\"\nport = [1]\n"),
              "t.toml:6: unknown key \"acl.port\" (did you mean \"acl.ports\"?)");
}

TEST(ConfigFile, RulesWithUsersNeedAnHtpasswdFile) {
    auto s = parsed("[[acl]]\naction = \"deny\"\n\n[[acl]]\naction = \"allow\"\nusers = [\"*\"]\n");
    EXPECT_EQ(
        check_merged(s, "t.toml"),
        "t.toml:4: acl.users: a rule with users needs an htpasswd file ([auth] htpasswd) or client "
        "certificates (tls_client_ca)");
    s.auth.htpasswd = "/etc/ferry/htpasswd"; // from the file, or (later) an option
    EXPECT_EQ(check_merged(s, "t.toml"), "");
    s.auth.htpasswd.clear();
    s.tls.client_ca = "/etc/ferry/clients.pem"; // client certificates name users too
    EXPECT_EQ(check_merged(s, "t.toml"), "");
    EXPECT_EQ(check_merged(parsed("[[acl]]\naction = \"allow\"\n"), "t.toml"), "");
}

TEST(ConfigFile, ConfigKeysListsEveryDocumentedKey) {
    auto keys = config_keys();
    for (std::string_view k : {"listen", "port", "workers", "connect_ports", "dns_server", "parent",
                               "direct", "pool_per_host", "auth.htpasswd", "auth.realm"})
        EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
}

std::string source_file(const std::string& relative) {
    std::ifstream in(std::string(FERRY_SOURCE_DIR) + "/" + relative);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Adding a key means documenting it: the example file and docs/configuration.md name them all.
TEST(ConfigFile, ExampleAndDocsDescribeEveryKey) {
    const auto example = source_file("ferry.example.toml");
    const auto docs = source_file("docs/configuration.md");
    ASSERT_FALSE(example.empty());
    ASSERT_FALSE(docs.empty());
    for (std::string_view k : config_keys()) {
        const auto dot = k.find('.');
        const std::string table =
            dot == std::string_view::npos ? "" : std::string(k.substr(0, dot));
        const std::string name(dot == std::string_view::npos ? k : k.substr(dot + 1));
        EXPECT_TRUE(std::regex_search(example, std::regex("\\n(# )?" + name + " = ")))
            << k << " is not in ferry.example.toml";
        if (!table.empty()) {
            EXPECT_NE(example.find("\n[" + table + "]\n"), std::string::npos) << table;
        }
        const std::string documented =
            table.empty() ? "| `" + name + "` |" : "| `[" + table + "]` `" + name + "` |";
        EXPECT_NE(docs.find(documented), std::string::npos)
            << k << " is not in docs/configuration.md's table";
    }
}

TEST(ConfigFile, UnreadableFileIsNamed) {
    auto r = load_config_file("/nonexistent/ferry.toml");
    EXPECT_FALSE(r.parsed);
    EXPECT_EQ(r.error, "/nonexistent/ferry.toml: No such file or directory");
}

TEST(ConfigFile, EndlessFileIsRefused) {
    auto r = load_config_file("/dev/zero");
    EXPECT_FALSE(r.parsed);
    EXPECT_EQ(r.error, "/dev/zero: larger than 1 MiB: not a configuration file");
}

} // namespace
} // namespace ferry::config

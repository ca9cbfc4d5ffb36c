// Every option and every key, given a bad value, is refused the way the man page's EXIT STATUS
// says: one line on stderr that starts with "ferry:" and names the option (command line) or
// the file, line and key (configuration file), and exit status 2. Driven by the registry, so
// that an option added later is covered; through parse_command_line(), what main() runs
// first (tests/integration/docs_test.cpp checks a sample of these through the binary).
#include "config/cli.h"
#include "config/config_file.h"
#include "config/options.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace ferry::config {
namespace {

struct said {
    int exit_code = -1;
    std::string err;
};

// `ferry <args>` as main() parses it: the exit status and what went to stderr.
said parse(std::vector<std::string> args) {
    args.insert(args.begin(), "ferry");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    ::testing::internal::CaptureStdout(); // --check-config's "ferry: FILE: OK"
    ::testing::internal::CaptureStderr();
    auto r = parse_command_line(static_cast<int>(args.size()), argv.data());
    auto err = ::testing::internal::GetCapturedStderr();
    ::testing::internal::GetCapturedStdout();
    return {r.parsed ? 0 : r.exit_code, std::move(err)};
}

// A configuration file, removed at the end of the test.
class toml_file {
public:
    explicit toml_file(const std::string& text) {
        std::string pattern = ::testing::TempDir() + "ferry-messages-XXXXXX";
        const int fd = ::mkstemp(pattern.data());
        if (fd >= 0) {
            path_ = pattern;
            ::close(fd);
            std::ofstream(path_) << text;
        }
    }
    ~toml_file() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// One line, "ferry: ..." starting with `start`, and exit status 2.
void expect_refused(const said& s, const std::string& start, const std::string& what) {
    EXPECT_EQ(s.exit_code, 2) << what << ": " << s.err;
    EXPECT_TRUE(s.err.starts_with(start))
        << what << ": expected a line starting \"" << start << "\", got:\n"
        << s.err;
    EXPECT_EQ(s.err.find('\n'), s.err.size() - 1) << what << ": not one line:\n" << s.err;
}

// A value of the option's kind that its check refuses, whatever the option.
std::vector<std::string> bad_values(value_kind kind) {
    switch (kind) {
    case value_kind::integer:
    case value_kind::seconds:
        return {"", "-1", "ten"};
    case value_kind::on_off:
        return {"", "yes"};
    case value_kind::port_list:
        return {"", "0", "x"};
    case value_kind::text:
    case value_kind::list:
    case value_kind::flag:
        break;
    }
    return {""};
}

TEST(Messages, EveryOptionWithABadValueIsNamedOnOneLineWithStatus2) {
    for (const auto& o : options()) {
        const auto flag = std::string(o.about.flag);
        if (flag.empty()) { // the positional port
            expect_refused(parse({"70000"}), "ferry: port 70000: expected a port 0-65535", "PORT");
            continue;
        }
        if (!o.takes_value()) {
            expect_refused(parse({flag + "=on"}), fmt::format("ferry: {} takes no value", flag),
                           flag);
            continue;
        }
        expect_refused(parse({flag}),
                       fmt::format("ferry: {} needs a value ({})", flag, o.about.value_name), flag);
        for (const auto& value : bad_values(o.about.kind)) {
            const auto shown = value.empty() ? std::string("\"\"") : value;
            expect_refused(parse({flag + "=" + value}),
                           fmt::format("ferry: {} {}: expected ", flag, shown), flag + " " + shown);
        }
        if (o.about.short_flag) {
            expect_refused(parse({fmt::format("-{}", o.about.short_flag), "-1"}),
                           fmt::format("ferry: {} -1: expected ", flag), flag);
        }
    }
}

TEST(Messages, EveryKeyWithAWrongTypeIsNamedWithFileAndLine) {
    for (const auto& o : options()) {
        if (o.about.key.empty()) continue;
        toml_file file(fmt::format("# {}\n\n{} = {{}}\n", o.name(), o.about.key));
        expect_refused(parse({"--check-config", file.path()}),
                       fmt::format("ferry: {}:3: {}: expected ", file.path(), o.about.key),
                       std::string(o.about.key));
    }
}

TEST(Messages, EveryKeyWithABadValueIsNamedWithFileAndLine) {
    for (const auto& o : options()) {
        if (o.about.key.empty()) continue;
        for (const auto& value : bad_values(o.about.kind)) {
            std::string toml = "\"" + value + "\"";
            if (o.about.kind == value_kind::list) toml = "[" + toml + "]";
            if (o.about.kind == value_kind::integer || o.about.kind == value_kind::seconds) {
                if (value != "-1") continue; // a string is the wrong type, checked above
                toml = value;
            }
            if (o.about.kind == value_kind::port_list && value == "0") toml = "[0]";
            if (o.about.kind == value_kind::on_off) continue; // booleans in the file
            toml_file file(fmt::format("# {}\n{} = {}\n", o.name(), o.about.key, toml));
            expect_refused(parse({"--check-config", file.path()}),
                           fmt::format("ferry: {}:2: {}: expected ", file.path(), o.about.key),
                           fmt::format("{} = {}", o.about.key, toml));
        }
    }
}

TEST(Messages, EveryAclKeyWithAWrongTypeIsNamedWithFileAndLine) {
    for (auto dotted : acl_keys()) {
        const auto key = dotted.substr(4);
        const std::string action = key == "action" ? "" : "action = \"allow\"\n";
        toml_file file(fmt::format("[[acl]]\n{}{} = {{}}\n", action, key));
        expect_refused(
            parse({"--check-config", file.path()}),
            fmt::format("ferry: {}:{}: {}: ", file.path(), key == "action" ? 2 : 3, dotted),
            std::string(dotted));
    }
}

// The words of the checks that say more than "expected X".
TEST(Messages, RangesAndShapesAreSaid) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--header-timeout", "0.0001"},
         "ferry: --header-timeout 0.0001: expected at least 0.001 seconds (one millisecond)\n"},
        {{"--idle-timeout", "2e9"},
         "ferry: --idle-timeout 2e9: expected at most 1000000000 seconds\n"},
        {{"--send-timeout", "nan"}, "ferry: --send-timeout nan: expected a number of seconds\n"},
        {{"--dns-negative-ttl", "-1"},
         "ferry: --dns-negative-ttl -1: expected zero or more seconds\n"},
        {{"--parent", "http://proxy.example:99999"},
         "ferry: --parent http://proxy.example:99999: expected a port 1-65535 after the host\n"},
        {{"--parent", "http://pro xy:3128"},
         "ferry: --parent http://pro xy:3128: expected a host name or IP address after "
         "http://\n"},
        {{"--parent", "http://[::1:3128"},
         "ferry: --parent http://[::1:3128: expected ] after the IPv6 address\n"},
        {{"--parent", "http://[nope]:3128"},
         "ferry: --parent http://[nope]:3128: expected an IPv6 address inside [ ]\n"},
        {{"--parent", "socks5://proxy:1080"},
         "ferry: --parent socks5://proxy:1080: expected http://[user:pass@]host[:port] or "
         "https://[user:pass@]host[:port]\n"},
        {{"--access-log-format", "apache"},
         "ferry: --access-log-format apache: expected \"ferry\", \"squid\", \"combined\" or "
         "\"json\"\n"},
        {{"--listen", "socks4://127.0.0.1:1080"},
         "ferry: --listen socks4://127.0.0.1:1080: unknown scheme \"socks4\" (ferry serves: "
         "http, https, socks5)\n"},
    };
    for (const auto& [args, says] : cases) {
        const auto s = parse(args);
        EXPECT_EQ(s.exit_code, 2) << args[0];
        EXPECT_EQ(s.err, says);
    }
}

// What the documents say is accepted is accepted.
TEST(Messages, DocumentedValuesAreAccepted) {
    toml_file empty("");
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--access-log", "stderr"},
                                               {"--access-log", "off"},
                                               {"--flow-log", "stderr"},
                                               {"--header-timeout", "0.001"},
                                               {"--idle-timeout", "1e9"},
                                               {"--dns-negative-ttl", "0"},
                                               {"--connect-ports", "any"},
                                               {"--connect-ports", "443,80,8443"},
                                               {"--parent", "http://proxy.example"},
                                               {"--listen", "http://[::1]:8080/"},
                                               {"--dns-server", "[::1]:5353"},
                                               {"--direct", ".corp.example"},
                                               {"--direct", "10.0.0.0/8"}}) {
        auto with_file = args;
        with_file.insert(with_file.end(), {"--check-config", empty.path()});
        const auto s = parse(with_file);
        EXPECT_EQ(s.exit_code, 0) << args[0] << " " << args[1] << ": " << s.err;
    }
}

} // namespace
} // namespace ferry::config

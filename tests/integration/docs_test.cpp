// The documentation as a user meets it, against the real binary: the man page renders at 80
// columns without a warning and has every option `ferry --help` lists, with its value syntax
// and default; a bad value is refused with one line that starts with "ferry:" and names the
// option or the file, line and key, and exit status 2, as the man page's EXIT STATUS says;
// --access-log stderr works; what the README tells browser users about connect_ports is what
// ferry does. (tests/unit/config/docs_match_test.cpp holds the documents' text to the options
// registry; tests/unit/config/messages_test.cpp gives every option and key a bad value.)
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>

using namespace ferry_test;

namespace {

const std::string man_page = std::string(FERRY_SOURCE_DIR) + "/packaging/ferry.1";

bool have_man() {
    return !shell_output("command -v man").empty();
}

// The page as `man` renders it: plain text, `width` columns.
std::string rendered(int width) {
    return shell_output(
        fmt::format("MANWIDTH={} man -E ascii -l '{}' 2>/dev/null | col -bx", width, man_page));
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// One option as `ferry --help` lists it.
struct help_option {
    std::string tag;        // "-w, --workers N", "--flow", "PORT"
    std::string flag;       // "--workers"; "" for PORT
    std::string value;      // "N"; "" for a flag
    std::string default_is; // "10" from "(default: 10)"; "" when none is shown
};

std::vector<help_option> help_options() {
    auto help = run_ferry({"--help"});
    EXPECT_EQ(help.exit_code(), 0) << help.err;
    std::vector<help_option> out;
    // "  -w, --workers N    Worker threads ...", the help on the next line when the tag is long.
    static const std::regex entry(
        R"(^  ((?:-\w, |    )?(--[a-z0-9-]+)(?: (\S+))?|PORT)(?:\s{2,}(.*))?$)");
    static const std::regex fallback_default(R"(\(default: ([^)]*)\)$)");
    for (const auto& line : lines_of(help.out)) {
        std::smatch m;
        if (std::regex_match(line, m, entry)) {
            std::string tag = m.str(1);
            if (tag.starts_with("    ")) tag = tag.substr(4);
            out.push_back({tag, m.str(2), m.str(3), ""});
        }
        std::smatch d;
        if (!out.empty() && std::regex_search(line, d, fallback_default))
            out.back().default_is = d.str(1);
    }
    std::erase_if(out,
                  [](const help_option& o) { return o.flag == "--help" || o.flag == "--version"; });
    return out;
}

using toml_file = ferry_test::temp_file;

} // namespace

TEST(Docs, ManPageRendersAt80ColumnsWithoutWarningsOrLongLines) {
    if (!have_man()) GTEST_SKIP() << "man is not installed (scripts/install-deps.sh adds man-db)";
    const auto warnings = shell_output(fmt::format(
        "MANWIDTH=80 man --warnings -E ascii -l '{}' 2>&1 >/dev/null; echo end", man_page));
    EXPECT_EQ(warnings, "end") << "man --warnings said:\n" << warnings;
    const auto page = rendered(80);
    ASSERT_NE(page.find("ferry - an HTTP/1.1 forward proxy"), std::string::npos) << page;
    for (const auto& line : lines_of(page))
        EXPECT_LE(line.size(), 80u) << "wider than 80 columns:\n" << line;
    for (const char* section :
         {"SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONFIGURATION FILE", "[auth] TABLE",
          "[[acl]] TABLES", "ACCESS RULES", "LOG FORMATS", "SIGNALS", "FILES", "ENVIRONMENT",
          "EXIT STATUS", "EXAMPLES", "SEE ALSO"})
        EXPECT_TRUE(std::regex_search(
            page,
            std::regex("\n *" + std::regex_replace(section, std::regex(R"([\[\]])"), R"(\$&)") +
                       "\n")))
            << section << " is not a heading of the rendered page";
}

// Each --help entry, tag and default, is an entry of the rendered page: the tag line, and the
// lines indented under it.
TEST(Docs, EveryOptionOfHelpIsInTheManPageWithItsValueSyntaxAndDefault) {
    if (!have_man()) GTEST_SKIP() << "man is not installed (scripts/install-deps.sh adds man-db)";
    const auto page = lines_of(rendered(200));
    const auto options = help_options();
    ASSERT_GT(options.size(), 30u);
    for (const auto& o : options) {
        std::string entry;
        for (std::size_t i = 0; i < page.size() && entry.empty(); ++i) {
            if (page[i].rfind("       " + o.tag, 0) != 0) continue;
            const auto after = page[i].substr(7 + o.tag.size());
            if (!after.empty() && after[0] != ' ') continue; // "--flow" in "--flow-log"
            entry = page[i];
            for (std::size_t j = i + 1; j < page.size() && page[j].rfind("              ", 0) == 0;
                 ++j)
                entry += " " + page[j].substr(14);
        }
        if (entry.empty()) {
            ADD_FAILURE() << "\"" << o.tag << "\" (from --help) is not in the man page";
            continue;
        }
        if (!o.default_is.empty()) {
            EXPECT_NE(entry.find("(default: " + o.default_is + ")"), std::string::npos)
                << o.tag << ": --help says the default is " << o.default_is << "; the man page:\n"
                << entry;
        }
    }
}

// A sample of options and keys, one per kind of value, given a bad value through the binary:
// one line on stderr naming the option, or the file, line and key, and exit status 2, as the
// man page's EXIT STATUS says (tests/unit/config/messages_test.cpp goes through every option,
// key and [[acl]] key of the registry, in the same parser main() calls).
TEST(Docs, BadValuesAreNamedAndExitWith2AsTheManPageSays) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--header-timeout", "-1"},
         "ferry: --header-timeout -1: expected a positive number of seconds"},
        {{"--workers", "0"}, "ferry: --workers 0: expected an integer from 1 to 256"},
        {{"--splice", "maybe"}, "ferry: --splice maybe: expected on or off"},
        {{"--listen="}, "ferry: --listen \"\": expected \"HOST:PORT\" or \"[IPv6]:PORT\""},
        {{"70000"}, "ferry: port 70000: expected a port 0-65535"},
    };
    for (const auto& [args, says] : cases) {
        auto r = run_ferry(args, 5s);
        EXPECT_EQ(r.exit_code(), 2) << args[0] << "\n" << r.err;
        EXPECT_EQ(r.err, says + "\n");
        EXPECT_EQ(r.out, "") << args[0];
    }
    toml_file file("via = \"x\"\n\n[auth]\nrealm = [\"a\"]\n");
    auto r = run_ferry({"--check-config", file.path()}, 5s);
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, fmt::format("ferry: {}:4: auth.realm: expected a string\n", file.path()));
}

// The access log's value syntax says stderr: it is accepted, and the line goes there.
TEST(Docs, AccessLogStderrWorksAsDocumented) {
    test_origin origin;
    ferry_process ferry({"--access-log", "stderr", "--workers", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                                       origin.url("/size/10"), origin.authority())));
    const auto answer = s.read_until_close(5s);
    EXPECT_NE(answer.find(" 200 "), std::string::npos) << printable(answer);
    const auto line = fmt::format("GET {} 200 ", origin.url("/size/10"));
    for (int i = 0; i < 50 && ferry.err().find(line) == std::string::npos; ++i)
        ::usleep(100'000);
    EXPECT_NE(ferry.err().find(line), std::string::npos) << ferry.err();
}

// README: "ferry lets CONNECT reach port 443 only by default ... gets 403 with `ferry: CONNECT
// to port 80 is not allowed (--connect-ports)`. Allow the ports you need: --connect-ports
// 443,80,8443". A browser's ws:// tunnel to a port that is not 443, before and after.
TEST(Docs, ConnectToAnotherPortNeedsConnectPortsAsTheReadmeSays) {
    test_origin origin;
    auto tunnel_to = [&origin](int proxy_port) {
        auto s = tcp_stream::connect_to(proxy_port);
        EXPECT_TRUE(s.ok());
        s.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority()));
        return s.read_until("\r\n\r\n", 5s);
    };
    {
        ferry_process ferry({"--workers", "1"});
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.ok());
        s.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority()));
        const auto answer = s.read_until("(--connect-ports)", 5s);
        EXPECT_EQ(answer.rfind("HTTP/1.1 403 ", 0), 0u) << printable(answer);
        EXPECT_NE(answer.find(fmt::format("ferry: CONNECT to port {} is not allowed "
                                          "(--connect-ports)",
                                          origin.port())),
                  std::string::npos)
            << printable(answer);
    }
    ferry_process ferry(
        {"--workers", "1", "--connect-ports", fmt::format("443,{}", origin.port())});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto head = tunnel_to(ferry.port());
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << printable(head);
}

// What an operator installs besides the binary: the man page renders cleanly and documents
// every option `ferry --help` lists; the systemd unit passes systemd-analyze.
#include "support/command.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace ferry_test;

namespace {

const std::string repo = FERRY_SOURCE_DIR;

// Runs a shell command; its standard output, and its exit status in `status`.
std::string shell(const std::string& command, int& status) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) {
        status = -1;
        return out;
    }
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), p)) > 0)
        out.append(buffer.data(), n);
    status = ::pclose(p);
    return out;
}

bool have(const std::string& tool) {
    int status = 0;
    shell("command -v " + tool + " >/dev/null 2>&1", status);
    return status == 0;
}

} // namespace

TEST(Packaging, ManPageRendersWithoutWarningsAndDocumentsEveryOption) {
    if (!have("man")) GTEST_SKIP() << "man is not installed (scripts/install-deps.sh adds man-db)";
    int status = 0;
    const auto warnings = shell("MANWIDTH=200 man -E ascii --warnings -l " + repo +
                                    "/packaging/ferry.1 2>&1 >/dev/null",
                                status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(warnings, "");
    const auto page =
        shell("MANWIDTH=200 man -E ascii -l " + repo + "/packaging/ferry.1 | col -b", status);
    ASSERT_EQ(status, 0);
    ASSERT_NE(page.find("ferry - an HTTP/1.1 forward proxy"), std::string::npos) << page;

    auto help = run_ferry({"--help"});
    ASSERT_EQ(help.exit_code(), 0);
    static const std::regex option(R"((--[a-z][a-z-]+))");
    std::set<std::string> options;
    for (std::sregex_iterator it(help.out.begin(), help.out.end(), option), end; it != end; ++it)
        options.insert(it->str(1));
    options.erase("--help");
    options.erase("--version");
    EXPECT_GT(options.size(), 20u);
    for (const auto& name : options)
        EXPECT_NE(page.find(name), std::string::npos) << name << " is not in the man page";
}

TEST(Packaging, SystemdUnitVerifies) {
    if (!have("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
    // The unit names /usr/local/bin/ferry; verify a copy that names the built binary.
    const std::string copy = ::testing::TempDir() + "ferry.service";
    {
        std::ifstream in(repo + "/packaging/ferry.service");
        ASSERT_TRUE(in.good());
        std::stringstream text;
        text << in.rdbuf();
        auto unit = text.str();
        const std::string installed = "/usr/local/bin/ferry";
        ASSERT_NE(unit.find(installed), std::string::npos);
        for (auto at = unit.find(installed); at != std::string::npos; at = unit.find(installed))
            unit.replace(at, installed.size(), FERRY_BINARY);
        std::ofstream(copy) << unit;
    }
    int status = 0;
    const auto out = shell("systemd-analyze verify --man=no " + copy + " 2>&1", status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "");
    std::remove(copy.c_str());
}

// What an operator installs besides the binary: the man page renders cleanly and documents
// every option `ferry --help` lists; the systemd unit passes systemd-analyze; and the .deb
// (scripts/make-deb.sh) installs with dpkg, creates the ferry user and its directories,
// enables the unit without starting it, and the installed binary serves with the installed
// configuration as that user; a purge removes it again.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/log_lines.h"
#include "support/origin.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <regex>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

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
    static const std::regex option(R"((--[a-z][a-z0-9-]+))");
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
    // The unit names /usr/bin/ferry (the .deb's); verify a copy that names the built binary.
    const std::string copy = ::testing::TempDir() + "ferry.service";
    {
        std::ifstream in(repo + "/packaging/ferry.service");
        ASSERT_TRUE(in.good());
        std::stringstream text;
        text << in.rdbuf();
        auto unit = text.str();
        const std::string installed = "/usr/bin/ferry";
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

namespace {

// A scratch directory removed at the end.
struct scratch {
    std::string path;
    scratch() {
        std::string pattern = ::testing::TempDir() + "ferry-deb-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
    }
    ~scratch() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// The version the test gives its package: a leftover of an interrupted run is recognised
// by it (and purged), while a ferry the machine's admin installed is left alone.
const std::string test_version = "0~packagingtest";

// The installed package's "status version", e.g. "ii 0.1.0"; "" when none is installed.
std::string installed_ferry() {
    int status = 0;
    auto out = shell("dpkg-query -W -f='${db:Status-Abbrev}${Version}' ferry 2>/dev/null", status);
    if (status != 0 || out.rfind("un", 0) == 0) return {};
    return out;
}

// dpkg, retried while another dpkg or apt holds its lock (bounded: 20 tries, 1 s apart).
// --force-unsafe-io: no fsync per file; a test install need not survive a power cut.
int dpkg(const std::string& arguments, std::string& out) {
    int status = 0;
    for (int attempt = 0; attempt < 20; ++attempt) {
        out = shell("DEBIAN_FRONTEND=noninteractive dpkg --force-unsafe-io " + arguments + " 2>&1",
                    status);
        if (status == 0 || out.find("lock") == std::string::npos) return status;
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return status;
}

std::string mode_owner(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "missing";
    const passwd* u = ::getpwuid(st.st_uid);
    const group* g = ::getgrgid(st.st_gid);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return std::string(mode) + " " + (u ? u->pw_name : "?") + ":" + (g ? g->gr_name : "?");
}

// `command` started in the background with its output in files; stopped at the end.
class background {
public:
    background(const std::vector<std::string>& argv, const std::string& out, const std::string& err)
        : out_(out) {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(o, STDOUT_FILENO);
            ::dup2(e, STDERR_FILENO);
            std::vector<char*> args;
            for (const auto& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~background() { stop(); }
    int stop() {
        if (pid_ <= 0) return status_;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 200 && ::waitpid(pid_, &status_, WNOHANG) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (::waitpid(pid_, &status_, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status_, 0);
        }
        pid_ = -1;
        return status_;
    }
    // The port of "Starting proxy server on port N", 0 if it did not come within 10 s.
    int port() const {
        static const std::regex line("Starting proxy server on port ([0-9]+)");
        int port = 0;
        eventually(
            [&] {
                std::smatch m;
                const auto text = read_file(out_);
                if (std::regex_search(text, m, line)) port = std::stoi(m[1]);
                return port != 0;
            },
            std::chrono::seconds(10));
        return port;
    }

private:
    std::string out_;
    pid_t pid_ = -1;
    int status_ = -1;
};

// Why the .deb cannot be installed on this machine, or "".
std::string cannot_install_debs() {
    if (::geteuid() != 0) return "installing a .deb with dpkg -i needs root (CI runs as root)";
    for (const char* tool : {"dpkg", "dpkg-deb", "setpriv", "systemd-analyze", "man", "logrotate",
                             "deb-systemd-helper"})
        if (!have(tool))
            return std::string(tool) +
                   " is not installed (scripts/install-deps.sh adds dpkg-dev, logrotate, man-db)";
    const auto installed = installed_ferry();
    if (!installed.empty() && installed.find(test_version) == std::string::npos)
        return "a ferry package (" + installed +
               ") is installed on this machine; this test installs and purges its own and "
               "leaves that one alone";
    return {};
}

} // namespace

// The .deb of the binary under test, installed on this machine with dpkg (as root, as in CI;
// purged at the end, and a leftover of an interrupted run first): the user, the directories,
// the enabled-but-not-started unit that systemd-analyze verifies, the man page, the logrotate
// file, and the installed binary serving with the installed configuration as the ferry user.
TEST(Packaging, TheDebInstallsServesAsTheFerryUserAndPurges) {
    if (auto why = cannot_install_debs(); !why.empty()) GTEST_SKIP() << why;
    scratch dir;
    int status = 0;
    const auto deb = shell("DPKG_DEB_COMPRESSOR_TYPE=gzip DPKG_DEB_COMPRESSOR_LEVEL=1 " + repo +
                               "/scripts/make-deb.sh " FERRY_BINARY " " + dir.path + " " +
                               test_version + " | tail -n1",
                           status);
    ASSERT_EQ(status, 0) << deb;
    const std::string package = deb.substr(0, deb.find_last_not_of('\n') + 1);
    ASSERT_TRUE(std::filesystem::exists(package)) << package;
    EXPECT_NE(shell("dpkg-deb -f " + package + " Depends", status).find("libc6 (>= "),
              std::string::npos);
    EXPECT_NE(shell("dpkg-deb -f " + package + " Depends", status).find("adduser"),
              std::string::npos);
    EXPECT_NE(shell("dpkg-deb -I " + package + " conffiles", status).find("/etc/ferry/ferry.toml"),
              std::string::npos);

    std::string out;
    if (!installed_ferry().empty()) {
        ASSERT_EQ(dpkg("--purge ferry", out), 0) << out;
    }
    struct purge_at_end {
        ~purge_at_end() {
            std::string ignored;
            dpkg("--purge ferry", ignored);
        }
    } purge;
    ASSERT_EQ(dpkg("-i " + package, out), 0) << out;
    EXPECT_EQ(out.find("warning"), std::string::npos) << out;

    // The system user, and what it owns (as Debian's redis-server and mariadb set theirs).
    const passwd* user = ::getpwnam("ferry");
    ASSERT_NE(user, nullptr) << "postinst did not create the ferry user";
    EXPECT_LT(user->pw_uid, 1000u) << "a system user";
    EXPECT_EQ(std::string(user->pw_shell), "/usr/sbin/nologin");
    EXPECT_EQ(mode_owner("/var/log/ferry"), "2750 ferry:adm");
    EXPECT_EQ(mode_owner("/etc/ferry"), "0750 root:ferry");
    EXPECT_EQ(mode_owner("/etc/ferry/ferry.toml"), "0640 root:ferry");
    EXPECT_EQ(mode_owner("/usr/bin/ferry"), "0755 root:root");

    // Enabled, not started: the symlink deb-systemd-helper makes, and no start in postinst.
    const std::string wants = "/etc/systemd/system/multi-user.target.wants/ferry.service";
    std::error_code ec;
    EXPECT_EQ(std::filesystem::read_symlink(wants, ec).string(),
              "/lib/systemd/system/ferry.service");
    const auto scripts = shell("dpkg-deb -I " + package + " postinst", status);
    for (const char* starts : {"deb-systemd-invoke", "systemctl start", "--now", "invoke-rc.d"})
        EXPECT_EQ(scripts.find(starts), std::string::npos) << starts << " in\n" << scripts;

    const auto verify =
        shell("systemd-analyze verify /lib/systemd/system/ferry.service 2>&1", status);
    EXPECT_EQ(status, 0) << verify;
    EXPECT_EQ(verify, "");
    const auto unit = read_file("/lib/systemd/system/ferry.service");
    EXPECT_NE(unit.find("\nExecStart=/usr/bin/ferry --config /etc/ferry/ferry.toml\n"),
              std::string::npos);
    EXPECT_NE(unit.find("\nUser=ferry\n"), std::string::npos);

    const auto page = shell("MANWIDTH=200 man -E ascii --warnings -l "
                            "/usr/share/man/man1/ferry.1.gz 2>&1 | col -b",
                            status);
    EXPECT_EQ(status, 0) << page;
    EXPECT_NE(page.find("ferry - "), std::string::npos) << page;
    EXPECT_EQ(page.find("warning"), std::string::npos) << page;

    const auto rotate = shell("logrotate -d /etc/logrotate.d/ferry 2>&1", status);
    EXPECT_EQ(status, 0) << rotate;
    EXPECT_NE(read_file("/etc/logrotate.d/ferry").find("--signal=USR1 ferry.service"),
              std::string::npos);

    // The installed binary, the installed configuration, as the unit runs it (the ferry
    // user); only the listen address is the test's.
    test_origin origin;
    background ferry({"setpriv", "--reuid=ferry", "--regid=ferry", "--init-groups",
                      "/usr/bin/ferry", "--config", "/etc/ferry/ferry.toml", "--listen",
                      "127.0.0.1:0"},
                     dir.path + "/out", dir.path + "/err");
    const int port = ferry.port();
    ASSERT_NE(port, 0) << read_file(dir.path + "/out") << read_file(dir.path + "/err");
    {
        curl_client client;
        auto r = client.perform(
            {.url = origin.url("/size/3"), .proxy = "http://127.0.0.1:" + std::to_string(port)});
        EXPECT_EQ(r.status, 200) << r.body;
    }
    EXPECT_FALSE(wait_for_line_in_file("/var/log/ferry/access.log", {"/size/3 "}).empty())
        << read_file(dir.path + "/err");
    EXPECT_EQ(mode_owner("/var/log/ferry/access.log").substr(5, 6), "ferry:");
    const int stopped = ferry.stop();
    EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << read_file(dir.path + "/err");

    ASSERT_EQ(dpkg("--purge ferry", out), 0) << out;
    EXPECT_FALSE(std::filesystem::exists("/var/log/ferry"));
    EXPECT_FALSE(std::filesystem::exists("/etc/ferry"));
    EXPECT_FALSE(std::filesystem::exists("/lib/systemd/system/ferry.service"));
    EXPECT_FALSE(std::filesystem::is_symlink(wants));
    EXPECT_EQ(installed_ferry(), "");
}

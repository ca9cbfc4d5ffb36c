// git and apt through ferry's HTTPS listener, as their users configure them: git clone with
// `-c http.proxy=https://… -c http.proxySSLCAInfo=ca.pem` from a repository served over dumb
// HTTP, and apt-get update + download from a local flat repository with
// `-o Acquire::http::Proxy=https://…`: Debian 12's apt (2.6) speaks TLS to an https:// proxy
// and checks its certificate against Acquire::https::CaInfo. Origins are python3's http.server on
// 127.0.0.1.
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/ports.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// python3 -m http.server serving `dir` on a free port of 127.0.0.1.
class file_origin {
public:
    explicit file_origin(const std::string& dir, const std::string& log)
        : port_(unused_port()), server_({"/usr/bin/python3", "-m", "http.server", "--bind",
                                         "127.0.0.1", "--directory", dir, std::to_string(port_)},
                                        log) {
        ready_ = wait_for_listener(port_);
    }
    bool ready() const { return ready_; }
    std::string url(const std::string& path) const {
        return fmt::format("http://127.0.0.1:{}{}", port_, path);
    }

private:
    int port_;
    background_program server_;
    bool ready_ = false;
};

// A shell command in `dir`; its output on failure, "" on success.
std::string in_dir(const std::string& dir, const std::string& command) {
    const auto r = run_program({"sh", "-c", "cd '" + dir + "' && " + command}, 30s);
    return r.exit_code() == 0 ? "" : command + ":\n" + r.out + r.err;
}

} // namespace

TEST(HttpsGitApt, GitClonesThroughTheTlsListener) {
    if (shell_output("command -v git").empty()) GTEST_SKIP() << "git missing";
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const auto dir = files.dir();
    // A repository with one commit, published for dumb HTTP (info/refs, objects/info/packs).
    ASSERT_EQ(in_dir(dir,
                     "git init -q work && cd work && echo 'cloned through TLS' > README && "
                     "git add README && git -c user.name=t -c user.email=t@test commit -qm one "
                     "&& cd .. && git clone -q --bare work served/repo.git && cd "
                     "served/repo.git && git update-server-info"),
              "");
    file_origin origin(dir + "/served", files.path("origin.log"));
    ASSERT_TRUE(origin.ready()) << read_file(files.path("origin.log"));
    ferry_process ferry(files.https_args(), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    auto argv = without_proxy_environment();
    argv.insert(argv.end(), {"GIT_TERMINAL_PROMPT=0", "git", "-c",
                             fmt::format("http.proxy=https://127.0.0.1:{}", ferry.port()), "-c",
                             "http.proxySSLCAInfo=" + files.ca(), "clone", "-q",
                             origin.url("/repo.git"), files.path("clone")});
    const auto r = run_program(argv, 60s);
    ASSERT_EQ(r.exit_code(), 0) << r.out << r.err << "\nferry:\n" << ferry.err();
    EXPECT_EQ(read_file(files.path("clone/README")), "cloned through TLS\n");
    EXPECT_FALSE(
        wait_for_line(ferry, {"GET " + origin.url("/repo.git/info/refs"), " 200 "}).empty())
        << ferry.out();
}

TEST(HttpsGitApt, AptUpdatesAndDownloadsThroughTheTlsListener) {
    if (shell_output("command -v apt-get").empty() ||
        shell_output("command -v dpkg-scanpackages").empty())
        GTEST_SKIP() << "apt-get or dpkg-scanpackages (dpkg-dev) missing";
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const auto dir = files.dir();
    // A flat repository with one package: Packages and a Release carrying its hash.
    ASSERT_EQ(
        in_dir(
            dir,
            "mkdir -p pkg/DEBIAN repo apt/lists/partial apt/cache/archives/partial && "
            "printf 'Package: ferry-test-pkg\\nVersion: 1.0\\nArchitecture: all\\n"
            "Maintainer: t <t@test>\\nDescription: test\\n' > pkg/DEBIAN/control && "
            "dpkg-deb -b pkg repo/ferry-test-pkg_1.0_all.deb >/dev/null && cd repo && "
            "dpkg-scanpackages -m . 2>/dev/null | sed 's,^Filename: ./,Filename: ,' > Packages && "
            "printf 'Date: %s\\nSHA256:\\n %s %s Packages\\n' \"$(date -Ru)\" "
            "\"$(sha256sum Packages | cut -d' ' -f1)\" \"$(stat -c%s Packages)\" "
            "> Release && touch ../apt/status"),
        "");
    file_origin origin(dir + "/repo", files.path("origin.log"));
    ASSERT_TRUE(origin.ready()) << read_file(files.path("origin.log"));
    std::ofstream(files.path("apt/sources.list"))
        << "deb [trusted=yes] " << origin.url("/") << " ./\n";
    ferry_process ferry(files.https_args(), false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // apt in a sandbox of its own: its lists, cache and status under the test's folder.
    auto apt = [&](const std::vector<std::string>& words) {
        auto argv = without_proxy_environment();
        argv.insert(argv.end(),
                    {"sh",
                     "-c",
                     "cd '" + dir + "' && exec \"$@\"",
                     "apt",
                     "apt-get",
                     "-q",
                     "-o",
                     "Dir::Etc::SourceList=" + dir + "/apt/sources.list",
                     "-o",
                     "Dir::Etc::SourceParts=" + dir + "/apt/none",
                     "-o",
                     "Dir::State::Lists=" + dir + "/apt/lists",
                     "-o",
                     "Dir::State::status=" + dir + "/apt/status",
                     "-o",
                     "Dir::Cache=" + dir + "/apt/cache",
                     "-o",
                     "Debug::NoLocking=1",
                     "-o",
                     "APT::Sandbox::User=root",
                     "-o",
                     fmt::format("Acquire::http::Proxy=https://127.0.0.1:{}", ferry.port()),
                     "-o",
                     "Acquire::https::CaInfo=" + files.ca(),
                     "-o",
                     "Acquire::Retries=0"});
        argv.insert(argv.end(), words.begin(), words.end());
        return run_program(argv, 60s);
    };
    const auto update = apt({"update", "--error-on=any"});
    if (update.out.find("Unsupported proxy configured") != std::string::npos ||
        update.err.find("Unsupported proxy configured") != std::string::npos)
        GTEST_SKIP() << "this apt does not speak to an https:// proxy: " << update.err;
    ASSERT_EQ(update.exit_code(), 0) << update.out << update.err << "\nferry:\n" << ferry.err();
    EXPECT_EQ(update.err.find("W:"), std::string::npos) << update.err;
    const auto download = apt({"download", "ferry-test-pkg"});
    ASSERT_EQ(download.exit_code(), 0) << download.out << download.err << "\nferry:\n"
                                       << ferry.err();
    EXPECT_TRUE(std::filesystem::exists(files.path("ferry-test-pkg_1.0_all.deb")));
    // A flat repository's index is at "./Packages": apt asks for /./Packages.
    EXPECT_FALSE(wait_for_line(ferry, {"GET " + origin.url("/"), "Packages 200 "}).empty())
        << ferry.out();
    EXPECT_FALSE(
        wait_for_line(ferry, {"GET " + origin.url("/ferry-test-pkg_1.0_all.deb"), " 200 "}).empty())
        << ferry.out();
}

// HTTPS through ferry the way a browser does it: CONNECT, then TLS end to end with an
// origin that is `openssl s_server`, its certificate made by the test.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/ports.h"
#include "support/socket_io.h"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;

namespace {

// A TLS origin serving the files of a temporary folder (s_server -WWW), on 127.0.0.1.
class tls_origin {
public:
    explicit tls_origin(std::size_t file_size) {
        char dir_template[] = "/tmp/ferry-tls-XXXXXX";
        if (!mkdtemp(dir_template)) return;
        dir_ = dir_template;
        const auto make_cert =
            "cd " + dir_ +
            " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout key.pem -out cert.pem -days 1 -subj /CN=localhost >/dev/null 2>&1";
        if (std::system(make_cert.c_str()) != 0) return;
        std::ofstream(dir_ + "/data.bin", std::ios::binary) << pattern(file_size);
        port_ = unused_port();
        pid_ = fork();
        if (pid_ == 0) {
            if (chdir(dir_.c_str()) != 0) _exit(127);
            const auto accept = "127.0.0.1:" + std::to_string(port_);
            execlp("openssl", "openssl", "s_server", "-quiet", "-WWW", "-accept", accept.c_str(),
                   "-cert", "cert.pem", "-key", "key.pem", static_cast<char*>(nullptr));
            _exit(127);
        }
        for (int i = 0; i < 100; ++i) { // up to 5 s for s_server to listen
            if (tcp_stream::connect_to(port_).ok()) {
                ready_ = true;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
    }
    ~tls_origin() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
        if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
    }
    bool ready() const { return ready_; }
    int port() const { return port_; }

private:
    std::string dir_;
    int port_ = 0;
    pid_t pid_ = -1;
    bool ready_ = false;
};

} // namespace

TEST(TunnelTls, HttpsDownloadThroughConnectIsByteExact) {
    const std::size_t size = 10 * 1024 * 1024;
    tls_origin origin(size);
    ASSERT_TRUE(origin.ready()) << "openssl s_server did not start";
    ferry_process ferry({"--connect-ports", std::to_string(origin.port())});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r =
        client.perform({.url = "https://127.0.0.1:" + std::to_string(origin.port()) + "/data.bin",
                        .proxy = ferry.proxy_url(),
                        .insecure = true,
                        .keep_body = false});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern(size));
    EXPECT_TRUE(ferry.wait_for_out("CONNECT 127.0.0.1:" + std::to_string(origin.port()) + " 200"));
}

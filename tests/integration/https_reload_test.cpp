// Certificate reload under load (issue 14 §1): clients keep requesting over the TLS listener
// — one opening a new TLS connection per request, one keeping its connection alive — while
// the certificate and key files are replaced and ferry gets SIGHUP. No request fails, the
// kept-alive connection carries on, and new handshakes see the new certificate. A broken
// certificate on the next reload keeps the one in use, and stderr says why.
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/temp_file.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <curl/curl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
    return size * n;
}

// A libcurl client of the HTTPS proxy; `fresh`: a new TLS connection for every request.
class proxy_client {
public:
    proxy_client(int proxy_port, const std::string& ca, bool fresh) : easy_(curl_easy_init()) {
        proxy_ = fmt::format("https://127.0.0.1:{}", proxy_port);
        curl_easy_setopt(easy_, CURLOPT_PROXY, proxy_.c_str());
        curl_easy_setopt(easy_, CURLOPT_PROXY_CAINFO, ca.c_str());
        curl_easy_setopt(easy_, CURLOPT_NOPROXY, "");
        curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 10000L);
        if (fresh) {
            curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
            curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
        }
    }
    ~proxy_client() { curl_easy_cleanup(easy_); }
    proxy_client(const proxy_client&) = delete;
    proxy_client& operator=(const proxy_client&) = delete;

    // True when the request got a 200; `error` says what went wrong otherwise.
    bool get(const std::string& url, std::string& error) {
        curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
        const auto code = curl_easy_perform(easy_);
        long status = 0, connects = 0;
        curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
        connections += connects;
        if (code == CURLE_OK && status == 200) return true;
        error = fmt::format("{} (status {})", curl_easy_strerror(code), status);
        return false;
    }
    long connections = 0;

private:
    CURL* easy_;
    std::string proxy_;
};

// Client threads requesting until told to stop (or 3,000 requests each, or 30 s).
class load {
public:
    load(int port, const std::string& ca, const std::string& url) {
        curl_global_init(CURL_GLOBAL_DEFAULT); // once, before the threads' handles
        for (bool fresh : {true, false})
            threads_.emplace_back([this, port, ca, url, fresh] { run(port, ca, url, fresh); });
    }
    ~load() { stop(); }
    void stop() {
        stopping_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    int requests() const { return requests_; }
    int failures() const { return failures_; }
    long kept_alive_connections() const { return kept_alive_connections_; }
    std::string first_error() const { return first_error_; }

private:
    void run(int port, const std::string& ca, const std::string& url, bool fresh) {
        proxy_client client(port, ca, fresh);
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        for (int i = 0; i < 3000 && !stopping_ && std::chrono::steady_clock::now() < deadline;
             ++i) {
            std::string error;
            ++requests_;
            if (!client.get(url, error) && failures_++ == 0) first_error_ = error;
        }
        if (!fresh) kept_alive_connections_ = client.connections;
    }
    std::atomic<bool> stopping_{false};
    std::atomic<int> requests_{0}, failures_{0};
    std::atomic<long> kept_alive_connections_{0};
    std::string first_error_;
    std::vector<std::thread> threads_;
};

// Sends SIGHUP and waits until stderr holds `expected` once more than before.
bool reload(const ferry_process& ferry, const std::string& expected) {
    auto count = [&] {
        const auto err = ferry.err();
        int n = 0;
        for (auto at = err.find(expected); at != std::string::npos; at = err.find(expected, at + 1))
            ++n;
        return n;
    };
    const int before = count();
    if (::kill(ferry.pid(), SIGHUP) != 0) return false;
    for (int i = 0; i < 500; ++i) {
        if (count() > before) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

} // namespace

TEST(HttpsReload, CertificatesChangeUnderLoadWithoutAFailedRequest) {
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    ASSERT_TRUE(files.make_server_cert("second", "second-certificate"));
    // ferry reads the certificate from files that are replaced in place.
    const auto cert = files.path("live.pem"), key = files.path("live.key");
    std::filesystem::copy_file(files.proxy_cert(), cert);
    std::filesystem::copy_file(files.proxy_key(), key);
    temp_file config(fmt::format("listen = [\"https://127.0.0.1:0\"]\ntls_cert = \"{}\"\n"
                                 "tls_key = \"{}\"\n",
                                 cert, key));
    test_origin origin;
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_EQ(presented_cn(ferry.port(), files.ca()), "localhost");

    load clients(ferry.port(), files.ca(), origin.url("/"));
    std::this_thread::sleep_for(500ms);
    // Each file is replaced whole (renamed over), the certificate and then its key.
    std::filesystem::copy_file(files.path("second.pem"), cert + ".new");
    std::filesystem::copy_file(files.path("second.key"), key + ".new");
    std::filesystem::rename(cert + ".new", cert);
    std::filesystem::rename(key + ".new", key);
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_EQ(presented_cn(ferry.port(), files.ca()), "second-certificate")
        << "a new handshake after the reload";
    std::this_thread::sleep_for(500ms);

    // A certificate file that is not one: the reload fails, naming it; the second stays.
    std::ofstream(cert + ".new") << "-----BEGIN CERTIFICATE-----\nnot base64\n";
    std::filesystem::rename(cert + ".new", cert);
    ASSERT_TRUE(reload(ferry, "ferry: reload failed: keeping the running configuration"))
        << ferry.err();
    EXPECT_NE(ferry.err().find(cert), std::string::npos) << "the message names the file:\n"
                                                         << ferry.err();
    EXPECT_EQ(presented_cn(ferry.port(), files.ca()), "second-certificate");
    std::this_thread::sleep_for(300ms);
    clients.stop();

    EXPECT_EQ(clients.failures(), 0)
        << "of " << clients.requests() << "; the first: " << clients.first_error() << "\nferry:\n"
        << ferry.err();
    EXPECT_GT(clients.requests(), 20) << "the clients hardly ran";
    EXPECT_EQ(clients.kept_alive_connections(), 1)
        << "the kept-alive client's connection was dropped by a reload";
    EXPECT_TRUE(ferry.running());
}

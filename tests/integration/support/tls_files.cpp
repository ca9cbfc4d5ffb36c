#include "support/tls_files.h"

#include "support/command.h"
#include "support/ports.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ferry_test {

namespace {

// Keys are P-256: quick to make, and every client here speaks them.
constexpr const char* new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

// The configuration `openssl req` signs a leaf with: its extensions in section "leaf".
std::string leaf_config(const std::string& extensions) {
    return "[req]\ndistinguished_name = dn\n[dn]\n[leaf]\nbasicConstraints = CA:FALSE\n"
           "keyUsage = critical,digitalSignature\nsubjectKeyIdentifier = hash\n"
           "authorityKeyIdentifier = keyid\n" +
           extensions;
}

std::string server_extensions() {
    return "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n";
}

std::string client_extensions(const std::string& cn) {
    return "extendedKeyUsage = clientAuth\nsubjectAltName = DNS:" + cn + ".test,email:" + cn +
           "@test,URI:spiffe://test/" + cn + "\n";
}

} // namespace

tls_files::tls_files(bool clients) {
    std::string pattern = ::testing::TempDir() + "ferry-tls-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        error_ = "cannot make a temporary folder under " + ::testing::TempDir();
        return;
    }
    dir_ = pattern;
    if (shell_output("command -v openssl").empty()) {
        error_ = "the openssl command is missing";
        return;
    }
    // Each openssl run costs 50-300 ms on a busy machine: the clients' files only when asked.
    if (!make_ca("ca", "ferry test CA") || !make_server_cert("proxy", "localhost") || !clients)
        return;
    make_ca("rogue-ca", "ferry rogue CA") && make_client("svc-a", "ca", "svc-a") &&
        make_client("svc-b", "ca", "svc-b") && make_client("svc-revoked", "ca", "svc-revoked") &&
        make_client("rogue", "rogue-ca", "svc-a") && make_crl();
}

tls_files::~tls_files() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool tls_files::run(const std::string& what, const std::string& command) {
    const auto log = path("openssl.log");
    if (std::system(("cd '" + dir_ + "' && { " + command + "; } >>'" + log + "' 2>&1").c_str()) ==
        0)
        return true;
    std::ifstream in(log);
    error_ = what + " failed: " + command + "\n" +
             std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return false;
}

bool tls_files::make_ca(const std::string& name, const std::string& cn) {
    return run("the CA " + cn, "openssl req -x509 " + std::string(new_key) + " -keyout " + name +
                                   ".key -out " + name + ".pem -days 2 -subj '/CN=" + cn + "'");
}

bool tls_files::make_leaf(const std::string& name, const std::string& ca, const std::string& cn,
                          const std::string& extensions) {
    std::ofstream(path(name + ".cnf")) << leaf_config(extensions);
    const auto serial = std::to_string(++serial_);
    // One run: a new key, and a certificate for it signed by the CA (req -CA).
    return run("the certificate " + name, "openssl req -new " + std::string(new_key) + " -keyout " +
                                              name + ".key -out " + name + ".pem -subj '/CN=" + cn +
                                              "' -config " + name + ".cnf -extensions leaf -CA " +
                                              ca + ".pem -CAkey " + ca + ".key -set_serial " +
                                              serial + " -days 2 -sha256");
}

bool tls_files::make_client(const std::string& name, const std::string& ca, const std::string& cn) {
    return make_leaf(name, ca, cn, client_extensions(cn));
}

bool tls_files::make_server_cert(const std::string& name, const std::string& cn) {
    return make_leaf(name, "ca", cn, server_extensions());
}

bool tls_files::make_crl() {
    // `openssl ca` keeps its state in a database of two files; an empty one will do.
    std::ofstream(path("index.txt")) << "";
    std::ofstream(path("crlnumber")) << "01\n";
    std::ofstream(path("ca.cnf")) << "[ca]\ndefault_ca = test_ca\n[test_ca]\n"
                                     "database = index.txt\ncrlnumber = crlnumber\n"
                                     "default_md = sha256\ndefault_crl_days = 2\n"
                                     "certificate = ca.pem\nprivate_key = ca.key\n";
    return run("revoking svc-revoked", "openssl ca -config ca.cnf -revoke svc-revoked.pem") &&
           run("the CRL", "openssl ca -config ca.cnf -gencrl -out crl.pem");
}

std::string tls_files::spki_sha256(const std::string& cert) const {
    return shell_output("openssl x509 -in '" + cert +
                        "' -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst "
                        "-sha256 -binary | openssl enc -base64");
}

std::vector<std::string> tls_files::https_args() const {
    return {"--listen",   "https://127.0.0.1:0", "--tls-cert",
            proxy_cert(), "--tls-key",           proxy_key()};
}

background_program::background_program(const std::vector<std::string>& argv,
                                       const std::string& log) {
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy)
        args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setpgid(0, 0);
        const int in = ::open("/dev/null", O_RDONLY);
        const int out = log.empty() ? ::open("/dev/null", O_WRONLY)
                                    : ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in >= 0) ::dup2(in, STDIN_FILENO);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        }
        ::execvp(args[0], args.data());
        _exit(127);
    }
    pid_ = pid;
}

background_program::~background_program() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200 && running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::kill(-pid_, SIGKILL); // what is left of the group (a browser's helpers)
    if (!reaped_) ::waitpid(pid_, nullptr, 0);
}

bool background_program::running() {
    if (pid_ <= 0 || reaped_) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) reaped_ = true;
    return !reaped_;
}

bool wait_for_listener(int port, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!tcp_stream::connect_to(port).ok()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

tls_web_origin::tls_web_origin(const tls_files& files) : port_(unused_port()) {
    const auto accept = "127.0.0.1:" + std::to_string(port_);
    // -WWW serves paths relative to the working directory: the files' folder.
    server_ = std::make_unique<background_program>(std::vector<std::string>{
        "sh", "-c",
        "cd '" + files.dir() + "' && exec openssl s_server -quiet -WWW -accept " + accept +
            " -cert proxy.pem -key proxy.key"});
    ready_ = server_->started() && wait_for_listener(port_);
}

tls_web_origin::~tls_web_origin() = default;

std::vector<std::string> without_proxy_environment() {
    std::vector<std::string> argv{"env"};
    for (const char* name : {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY",
                             "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}) {
        argv.push_back("-u");
        argv.push_back(name);
    }
    return argv;
}

std::string tls_files::https_toml() const {
    return "listen = [\"https://127.0.0.1:0\"]\ntls_cert = \"" + proxy_cert() + "\"\ntls_key = \"" +
           proxy_key() + "\"\n";
}

std::string presented_cn(int port, const std::string& ca, const std::string& sni) {
    std::string command = "timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                          " -CAfile '" + ca + "'";
    if (!sni.empty()) command += " -servername " + sni;
    command += " </dev/null 2>/dev/null | openssl x509 -noout -subject -nameopt multiline "
               "2>/dev/null | sed -n 's/^ *commonName *= *//p'";
    return shell_output(command);
}

} // namespace ferry_test

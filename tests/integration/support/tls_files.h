// Certificates made by a test with the openssl CLI, in a temporary folder removed at its end:
// a CA, the proxy's certificate for 127.0.0.1 and localhost (subjectAltName), client
// certificates signed by the CA, one signed by another CA nobody trusts, and a CRL revoking
// one of them. Plus the options that start ferry on an https:// listener with them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ferry_test {

class tls_files {
public:
    // Makes the CA and the proxy's certificate, and with `clients` the client certificates
    // and the CRL; check ok() (error() says which openssl step failed).
    explicit tls_files(bool clients = false);
    ~tls_files();
    tls_files(const tls_files&) = delete;
    tls_files& operator=(const tls_files&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    const std::string& dir() const { return dir_; }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    // The CA every certificate below is signed by ("ferry test CA").
    std::string ca() const { return path("ca.pem"); }
    // The proxy's certificate (CN=localhost; SAN DNS:localhost, IP:127.0.0.1) and its key.
    std::string proxy_cert() const { return path("proxy.pem"); }
    std::string proxy_key() const { return path("proxy.key"); }
    // With `clients`: client certificates (clientAuth), by CN: "svc-a" and "svc-b" (SAN
    // DNS:NAME.test, email:NAME@test, URI:spiffe://test/NAME), "svc-revoked" (in the CRL), and
    // "rogue" (CN svc-a, but signed by a CA ferry is not given).
    std::string client_cert(const std::string& name) const { return path(name + ".pem"); }
    std::string client_key(const std::string& name) const { return path(name + ".key"); }
    // With `clients`: the CA's CRL, revoking svc-revoked.
    std::string crl() const { return path("crl.pem"); }

    // One more server certificate NAME.pem / NAME.key for 127.0.0.1 and localhost, signed by
    // the CA, with subject CN `cn`; false (and error()) when openssl failed.
    bool make_server_cert(const std::string& name, const std::string& cn);

    // The SHA-256 of a certificate's public key, base64 (Chromium's
    // --ignore-certificate-errors-spki-list; curl's --pinnedpubkey sha256//…).
    std::string spki_sha256(const std::string& cert) const;

    // ferry's options for one https listener on a free port with the proxy certificate.
    std::vector<std::string> https_args() const;
    // The same as the lines of a configuration file (listen, tls_cert, tls_key).
    std::string https_toml() const;

private:
    bool run(const std::string& what, const std::string& command);
    bool make_ca(const std::string& name, const std::string& cn);
    bool make_leaf(const std::string& name, const std::string& ca, const std::string& cn,
                   const std::string& extensions);
    bool make_client(const std::string& name, const std::string& ca, const std::string& cn);
    bool make_crl();

    std::string dir_;
    std::string error_;
    int serial_ = 100;
};

// A program the test runs beside ferry (an origin, a browser), in a process group of its own,
// stdout and stderr to `log` (or /dev/null); on destruction the whole group gets SIGTERM,
// then SIGKILL if it has not gone within 2 s.
class background_program {
public:
    explicit background_program(const std::vector<std::string>& argv, const std::string& log = "");
    ~background_program();
    background_program(const background_program&) = delete;
    background_program& operator=(const background_program&) = delete;
    bool started() const { return pid_ > 0; }
    // Whether it is still running (false once it has exited, and reaped).
    bool running();

private:
    int pid_ = -1;
    bool reaped_ = false;
};

// Waits until something listens on 127.0.0.1:port, up to `limit`.
bool wait_for_listener(int port, std::chrono::milliseconds limit = std::chrono::seconds(5));

// A TLS origin on 127.0.0.1: `openssl s_server -WWW` serving the files of `files.dir()` (one
// connection at a time, HTTP/1.0, then close) with the proxy certificate, which names
// 127.0.0.1, so a client that trusts files.ca() verifies it.
class tls_web_origin {
public:
    explicit tls_web_origin(const tls_files& files);
    ~tls_web_origin();
    tls_web_origin(const tls_web_origin&) = delete;
    tls_web_origin& operator=(const tls_web_origin&) = delete;
    bool ready() const { return ready_; }
    int port() const { return port_; }
    std::string url(const std::string& file) const {
        return "https://127.0.0.1:" + std::to_string(port_) + "/" + file;
    }

private:
    int port_ = 0;
    std::unique_ptr<background_program> server_;
    bool ready_ = false;
};

// `env` with every proxy variable unset, to put before a client's argv: a client told its
// proxy on the command line must not be sent around it by the environment's no_proxy.
std::vector<std::string> without_proxy_environment();

// The subject CN of the certificate a TLS server on 127.0.0.1:port presents ("" when the
// handshake failed), as `openssl s_client` sees it; `sni` names the server when not empty.
std::string presented_cn(int port, const std::string& ca, const std::string& sni = "");

} // namespace ferry_test

// TLS over a socket pair, in process: the server side as ferry's HTTPS listener builds it
// (tls::server_context), the client side a plain OpenSSL client. Certificates are made here.
#include "net/tls_stream.h"
#include "tls/handshake_failure.h"
#include "tls/server_context.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::tls {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct key_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_deleter {
    void operator()(X509* x) const { X509_free(x); }
};

// A self-signed P-256 certificate for `name` (CN and DNS SAN), written as cert and key PEMs.
struct certificate_files {
    std::string cert, key;
    certificate_files(const std::string& dir, const std::string& name) {
        cert = dir + "/" + name + ".pem";
        key = dir + "/" + name + ".key";
        std::unique_ptr<EVP_PKEY, key_deleter> k(EVP_EC_gen("P-256"));
        std::unique_ptr<X509, x509_deleter> x(X509_new());
        X509_set_version(x.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
        X509_set_pubkey(x.get(), k.get());
        X509_NAME* subject = X509_get_subject_name(x.get());
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
        X509_set_issuer_name(x.get(), subject);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
        const std::string san = "DNS:" + name;
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
        X509_sign(x.get(), k.get(), EVP_sha256());
        FILE* f = std::fopen(cert.c_str(), "w");
        PEM_write_X509(f, x.get());
        std::fclose(f);
        f = std::fopen(key.c_str(), "w");
        PEM_write_PrivateKey(f, k.get(), nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
    }
};

struct client_ctx {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    ~client_ctx() { SSL_CTX_free(ctx); }
};

struct fixture {
    asio::io_context io;
    net::steady_time clock = std::chrono::steady_clock::now();
    net::deadline_list deadlines;
    std::string dir;
    std::shared_ptr<ticket_keys> keys = std::make_shared<ticket_keys>();

    fixture() {
        // As ferry's main does: OpenSSL writes with write(2), and a close_notify to a peer that
        // has gone must be an error, not the end of the process.
        std::signal(SIGPIPE, SIG_IGN);
        char name[] = "/tmp/ferry-tls-XXXXXX";
        dir = ::mkdtemp(name);
    }
    ~fixture() { std::filesystem::remove_all(dir); }

    // Runs the loop until `done` or two seconds have passed.
    bool run_until(const std::function<bool()>& done) {
        for (int i = 0; i < 200 && !done(); ++i) {
            io.restart();
            io.run_for(10ms);
        }
        return done();
    }

    std::shared_ptr<const server_context> server(const std::vector<std::string>& names) {
        config::tls_settings s;
        for (const auto& n : names) {
            certificate_files files(dir, n);
            s.cert.push_back(files.cert);
            s.key.push_back(files.key);
        }
        std::string error;
        auto ctx = server_context::load(s, keys, error);
        EXPECT_TRUE(ctx) << error;
        return ctx;
    }

    // A connected pair: ferry's server end and a client end, each a tls_stream.
    std::pair<std::unique_ptr<net::tls_stream>, std::unique_ptr<net::tls_stream>>
    pair(const server_context& server, SSL_CTX* client, const char* sni = "localhost") {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        tcp::socket a(io), b(io);
        a.assign(tcp::v4(), fds[0]);
        b.assign(tcp::v4(), fds[1]);
        net::ssl_ptr c(SSL_new(client));
        SSL_set_connect_state(c.get());
        if (sni) SSL_set_tlsext_host_name(c.get(), sni);
        auto s = std::make_unique<net::tls_stream>(std::move(a), server.new_session(), clock,
                                                   &deadlines);
        auto k = std::make_unique<net::tls_stream>(std::move(b), std::move(c), clock, &deadlines);
        return {std::move(s), std::move(k)};
    }

    // Both handshakes; their results.
    std::pair<net::error_code, net::error_code> handshake(net::tls_stream& s, net::tls_stream& c) {
        net::error_code se, ce;
        int finished = 0;
        for (auto [stream, result] : {std::pair{&s, &se}, std::pair{&c, &ce}})
            asio::co_spawn(
                io,
                [&finished, stream, result]() -> asio::awaitable<void> {
                    *result = co_await stream->handshake(5s);
                    ++finished;
                },
                asio::detached);
        EXPECT_TRUE(run_until([&] { return finished == 2; }));
        return {se, ce};
    }
};

// Reads from `from` until `want` bytes or an error.
void read_all(fixture& f, net::tls_stream& from, std::size_t want, std::string& out,
              net::error_code& ec, bool& done) {
    asio::co_spawn(
        f.io,
        [&, want]() -> asio::awaitable<void> {
            net::byte_buffer b(16 * 1024);
            while (out.size() < want) {
                std::size_t got = 0;
                ec = co_await from.read_some(b, 64 * 1024, 5s, got);
                if (ec) break;
                out.append(b.data());
                b.consume(b.size());
            }
            done = true;
        },
        asio::detached);
}

TEST(TlsStream, CarriesBytesBothWaysByteExact) {
    fixture f;
    auto server = f.server({"localhost"});
    client_ctx client;
    auto [s, c] = f.pair(*server, client.ctx);
    auto [se, ce] = f.handshake(*s, *c);
    ASSERT_FALSE(se) << se.message();
    ASSERT_FALSE(ce) << ce.message();
    EXPECT_EQ(SSL_version(s->ssl()), TLS1_3_VERSION);

    // 1 MiB one way while 3 small buffers go the other, at once (a tunnel's two directions).
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = char(i * 7 + i / 251);
    std::string got_big, got_small;
    net::error_code read_ec, small_ec;
    bool big_done = false, small_done = false;
    read_all(f, *c, big.size(), got_big, read_ec, big_done);
    read_all(f, *s, 11, got_small, small_ec, small_done);
    std::string h = "GET ", t = "/ HTTP/1.1", n = "\n";
    asio::co_spawn(
        f.io,
        [&]() -> asio::awaitable<void> {
            co_await s->write(asio::buffer(big), 5s);
            const std::array<asio::const_buffer, 3> parts{asio::buffer(h), asio::buffer(t),
                                                          asio::buffer(n)};
            co_await c->write(parts, 5s);
        },
        asio::detached);
    ASSERT_TRUE(f.run_until([&] { return big_done && small_done; }));
    EXPECT_FALSE(read_ec);
    EXPECT_TRUE(got_big == big);
    EXPECT_EQ(got_small, "GET / HTTP/1.1\n");
    EXPECT_EQ(s->sent, big.size()); // plaintext bytes, as the access log counts them
    EXPECT_EQ(c->sent, 15u);
}

TEST(TlsStream, CloseNotifyIsEndOfStreamAndATruncationIsNotForAServer) {
    fixture f;
    auto server = f.server({"localhost"});
    client_ctx client;
    {
        auto [s, c] = f.pair(*server, client.ctx);
        f.handshake(*s, *c);
        std::string out;
        net::error_code ec;
        bool done = false;
        read_all(f, *s, 1, out, ec, done);
        c->shutdown_send(); // close_notify, then FIN
        ASSERT_TRUE(f.run_until([&] { return done; }));
        EXPECT_EQ(ec, asio::error::eof);
    }
    {
        // The client's side of a parent connection: TCP ends without close_notify.
        auto [s, c] = f.pair(*server, client.ctx);
        f.handshake(*s, *c);
        c->truncation_is_eof = false;
        std::string out;
        net::error_code ec;
        bool done = false;
        read_all(f, *c, 1, out, ec, done);
        ::shutdown(s->socket().native_handle(), SHUT_WR);
        ASSERT_TRUE(f.run_until([&] { return done; }));
        EXPECT_TRUE(ec);
        EXPECT_NE(ec, asio::error::eof);
    }
}

TEST(TlsStream, AHandshakeThatStallsTimesOut) {
    fixture f;
    auto server = f.server({"localhost"});
    client_ctx client;
    auto [s, c] = f.pair(*server, client.ctx);
    net::error_code ec;
    bool done = false;
    asio::co_spawn(
        f.io,
        [&]() -> asio::awaitable<void> {
            ec = co_await s->handshake(3s);
            done = true;
        },
        asio::detached);
    f.io.run_for(50ms); // nothing arrives, and no time passes on the streams' clock
    EXPECT_FALSE(done);
    f.clock += 4s;
    f.deadlines.expire_passed(f.clock);
    ASSERT_TRUE(f.run_until([&] { return done; }));
    EXPECT_EQ(ec, asio::error::timed_out);
    EXPECT_EQ(classify_handshake_failure(ec, s->ssl()), observe::tls_failure::timeout);
}

TEST(TlsStream, OldProtocolVersionsAreRefusedAndNamed) {
    fixture f;
    auto server = f.server({"localhost"});
    client_ctx client;
    SSL_CTX_set_min_proto_version(client.ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(client.ctx, TLS1_1_VERSION);
    SSL_CTX_set_security_level(client.ctx, 0);
    auto [s, c] = f.pair(*server, client.ctx);
    auto [se, ce] = f.handshake(*s, *c);
    ASSERT_TRUE(se);
    EXPECT_TRUE(ce);
    EXPECT_EQ(classify_handshake_failure(se, s->ssl()), observe::tls_failure::version);
}

TEST(TlsStream, SniChoosesTheCertificateAndAlpnSaysHttp11) {
    fixture f;
    auto server = f.server({"first.test", "second.test", "*.wild.test"});
    client_ctx client;
    static constexpr unsigned char offer[] = {2,   'h', '2', 8,   'h', 't',
                                              't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(client.ctx, offer, sizeof offer);
    for (auto [sni, cn] :
         {std::pair{"second.test", "second.test"}, std::pair{"a.wild.test", "*.wild.test"},
          std::pair{"unknown.test", "first.test"}}) {
        auto [s, c] = f.pair(*server, client.ctx, sni);
        auto [se, ce] = f.handshake(*s, *c);
        ASSERT_FALSE(se) << sni << ": " << se.message();
        X509* peer = SSL_get0_peer_certificate(c->ssl());
        ASSERT_NE(peer, nullptr);
        char name[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
        EXPECT_STREQ(name, cn) << sni;
        EXPECT_EQ(c->alpn(), "http/1.1"); // h2 is not offered back until ferry speaks it
    }
}

TEST(TlsStream, ASecondConnectionResumesWithATicket) {
    fixture f;
    auto server = f.server({"localhost"});
    client_ctx client;
    SSL_CTX_set_max_proto_version(client.ctx, TLS1_2_VERSION); // the ticket comes in the handshake
    SSL_SESSION* saved = nullptr;
    {
        auto [s, c] = f.pair(*server, client.ctx);
        f.handshake(*s, *c);
        EXPECT_FALSE(SSL_session_reused(s->ssl()));
        saved = SSL_get1_session(c->ssl());
    }
    ASSERT_NE(saved, nullptr);
    auto [s, c] = f.pair(*server, client.ctx);
    SSL_set_session(c->ssl(), saved);
    SSL_SESSION_free(saved);
    auto [se, ce] = f.handshake(*s, *c);
    ASSERT_FALSE(se);
    EXPECT_TRUE(SSL_session_reused(s->ssl()));
}

TEST(TlsStream, ParkedStateResumesOnTheSameConnection) {
    fixture f;
    auto server = f.server({"localhost"});
    client_ctx client;
    auto [s, c] = f.pair(*server, client.ctx);
    f.handshake(*s, *c);
    // What the parking lot does: the socket and the SSL leave the stream, and come back in a
    // new one.
    auto ssl = s->release_ssl();
    tcp::socket socket = std::move(s->socket());
    s.reset();
    net::tls_stream again(std::move(socket), std::move(ssl), f.clock, &f.deadlines);
    std::string out;
    net::error_code ec;
    bool done = false;
    read_all(f, again, 5, out, ec, done);
    std::string hello = "hello";
    asio::co_spawn(
        f.io, [&]() -> asio::awaitable<void> { co_await c->write(asio::buffer(hello), 5s); },
        asio::detached);
    ASSERT_TRUE(f.run_until([&] { return done; }));
    EXPECT_FALSE(ec);
    EXPECT_EQ(out, "hello");
}

TEST(TlsNames, MatchExactlyOrOneWildcardLabel) {
    EXPECT_TRUE(name_matches("proxy.example", "proxy.example"));
    EXPECT_TRUE(name_matches("*.example", "proxy.example"));
    EXPECT_FALSE(name_matches("*.example", "a.proxy.example"));
    EXPECT_FALSE(name_matches("*.example", "example"));
    EXPECT_FALSE(name_matches("*.example", ".example"));
    EXPECT_FALSE(name_matches("proxy.example", "other.example"));
}

TEST(TlsContext, BadFilesAreNamed) {
    fixture f;
    config::tls_settings s;
    std::string error;
    EXPECT_FALSE(server_context::load(s, f.keys, error));
    EXPECT_NE(error.find("needs a certificate"), std::string::npos) << error;
    s.cert = {f.dir + "/missing.pem"};
    EXPECT_FALSE(server_context::load(s, f.keys, error));
    EXPECT_EQ(error, f.dir + "/missing.pem: No such file or directory");
    certificate_files one(f.dir, "one"), two(f.dir, "two");
    s.cert = {one.cert};
    s.key = {two.key};
    EXPECT_FALSE(server_context::load(s, f.keys, error));
    EXPECT_NE(error.find("does not match"), std::string::npos) << error;
    s.key = {one.key};
    s.ciphers = "NOT-A-CIPHER";
    EXPECT_FALSE(server_context::load(s, f.keys, error));
    EXPECT_NE(error.find("tls_ciphers"), std::string::npos) << error;
}

} // namespace
} // namespace ferry::tls

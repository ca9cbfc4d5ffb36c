// tls/client_hello: the reader of a tunnel's first bytes, case by case, and its verdict
// the same however the bytes are split.
#include "tls/client_hello.h"

#include "../../integration/support/client_hello_bytes.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ferry::tls {

namespace {

using test::client_hello_bytes;
using test::hello_spec;

client_hello_reader read_all(std::string_view bytes) {
    client_hello_reader r;
    r.feed(bytes);
    return r;
}

client_hello_reader read_bytewise(std::string_view bytes) {
    client_hello_reader r;
    for (char c : bytes)
        r.feed(std::string_view(&c, 1));
    return r;
}

// A hello with more extensions (as they are), and nothing else changed.
std::string with_extra(std::string extra) {
    hello_spec s;
    s.extra = std::move(extra);
    return client_hello_bytes(s);
}

} // namespace

TEST(ClientHello, ReadsServerNameAlpnAndVersions) {
    const auto r = read_all(client_hello_bytes({}));
    ASSERT_EQ(r.verdict(), hello_verdict::hello) << r.problem();
    EXPECT_EQ(r.hello().sni, "example.test");
    EXPECT_TRUE(r.hello().sni_valid);
    EXPECT_TRUE(r.hello().alpn_present);
    EXPECT_EQ(r.hello().alpn, (std::vector<std::string>{"h2", "http/1.1"}));
    EXPECT_FALSE(r.hello().ech);
    EXPECT_EQ(r.hello().legacy_version, 0x0303);
    EXPECT_EQ(r.hello().supported_versions, (std::vector<std::uint16_t>{0x0304, 0x0303}));
    EXPECT_EQ(r.taken(), client_hello_bytes({}).size());
}

TEST(ClientHello, ServerNameIsLowerCased) {
    hello_spec s;
    s.sni = "WWW.Example.TEST";
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello);
    EXPECT_EQ(r.hello().sni, "www.example.test");
}

TEST(ClientHello, EncryptedClientHelloIsSeen) {
    hello_spec s;
    s.sni = "public.example.test";
    s.ech = true;
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello);
    EXPECT_TRUE(r.hello().ech);
    EXPECT_EQ(r.hello().sni, "public.example.test");
}

TEST(ClientHello, WithoutServerNameOrAlpn) {
    hello_spec s;
    s.sni.clear();
    s.alpn.clear();
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello);
    EXPECT_EQ(r.hello().sni, "");
    EXPECT_FALSE(r.hello().alpn_present);
    EXPECT_TRUE(r.hello().alpn.empty());
}

TEST(ClientHello, WithoutAnyExtension) {
    hello_spec s;
    s.extensions = false;
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello) << r.problem();
    EXPECT_EQ(r.hello().sni, "");
}

TEST(ClientHello, ByteAtATimeGivesTheSameHello) {
    const auto bytes = client_hello_bytes({});
    client_hello_reader r;
    for (std::size_t i = 0; i + 1 < bytes.size(); ++i)
        ASSERT_EQ(r.feed(bytes.substr(i, 1)), hello_verdict::need_more) << "at byte " << i;
    EXPECT_EQ(r.feed(bytes.substr(bytes.size() - 1)), hello_verdict::hello);
    EXPECT_EQ(r.hello().sni, "example.test");
    EXPECT_EQ(r.hello().alpn.size(), 2u);
}

TEST(ClientHello, SplitOverRecordsAndReadsAnyway) {
    hello_spec s;
    s.padding = 600;
    std::mt19937 random(16);
    for (std::size_t record : {1u, 2u, 3u, 5u, 64u, 100u, 1000u}) {
        const auto bytes = client_hello_bytes(s, record);
        // Fed in pieces of random sizes.
        client_hello_reader r;
        for (std::size_t at = 0; at < bytes.size();) {
            const std::size_t n = 1 + random() % 300;
            r.feed(std::string_view(bytes).substr(at, n));
            at += n;
        }
        ASSERT_EQ(r.verdict(), hello_verdict::hello) << record << ": " << r.problem();
        EXPECT_EQ(r.hello().sni, "example.test");
        EXPECT_EQ(r.taken(), bytes.size());
    }
}

TEST(ClientHello, PaddedTo20KiBSpansTwoRecords) {
    hello_spec s;
    s.padding = 20 * 1024;
    const auto bytes = client_hello_bytes(s);
    ASSERT_GT(bytes.size(), 16384u + 5);
    const auto r = read_bytewise(bytes);
    ASSERT_EQ(r.verdict(), hello_verdict::hello) << r.problem();
    EXPECT_EQ(r.hello().sni, "example.test");
    EXPECT_GT(r.hello().size, 20u * 1024);
}

TEST(ClientHello, LargerThanTheCapIsTooLargeFromItsHeader) {
    hello_spec s;
    s.padding = 70 * 1024;
    const auto bytes = client_hello_bytes(s);
    client_hello_reader r;
    // Judged as soon as the handshake header is in: 5 + 4 bytes.
    EXPECT_EQ(r.feed(bytes.substr(0, 9)), hello_verdict::too_large);
    EXPECT_NE(r.problem().find("at most 65536"), std::string::npos) << r.problem();
    EXPECT_EQ(r.feed(bytes.substr(9)), hello_verdict::too_large);
    EXPECT_EQ(r.taken(), 9u);
}

TEST(ClientHello, SmallerCapIsHonoured) {
    client_hello_reader r(100);
    EXPECT_EQ(r.feed(client_hello_bytes({})), hello_verdict::too_large);
}

TEST(ClientHello, TooManyTinyRecordsAreTooLarge) {
    hello_spec s;
    s.padding = 14 * 1024;
    // Each byte in a record of its own: 6 bytes on the wire per byte of hello.
    const auto r = read_all(client_hello_bytes(s, 1));
    EXPECT_EQ(r.verdict(), hello_verdict::too_large);
}

TEST(ClientHello, BytesAfterTheVerdictAreNotTaken) {
    const auto hello = client_hello_bytes({});
    client_hello_reader r;
    EXPECT_EQ(r.feed(hello + "more bytes"), hello_verdict::hello);
    EXPECT_EQ(r.taken(), hello.size());
    EXPECT_EQ(r.feed("\x15\x03\x03"), hello_verdict::hello);
}

TEST(ClientHello, PlainTextIsNotTls) {
    for (std::string_view first :
         {"GET / HTTP/1.1\r\n", "SSH-2.0-OpenSSH_9.2\r\n", "EHLO x\r\n", "\x80\x2e\x01\x03\x01"}) {
        const auto r = read_all(first);
        EXPECT_EQ(r.verdict(), hello_verdict::not_tls) << first;
        EXPECT_EQ(r.taken(), 1u);
        EXPECT_NE(r.problem().find("not a TLS handshake record"), std::string::npos);
    }
}

TEST(ClientHello, HandshakeByteThenAnotherProtocolIsNotTls) {
    EXPECT_EQ(read_all(std::string("\x16\x00\x01", 3)).verdict(), hello_verdict::not_tls);
    EXPECT_EQ(read_all(std::string("\x16\xfe\xfd", 3)).verdict(), hello_verdict::not_tls); // DTLS
}

TEST(ClientHello, AnotherHandshakeMessageIsNotAClientHello) {
    // A ServerHello (type 2) first: not what a client starts a tunnel with.
    const std::string message = test::u8(2) + test::u24(4) + "abcd";
    const auto r = read_all(test::tls_records(message));
    EXPECT_EQ(r.verdict(), hello_verdict::not_tls);
    EXPECT_NE(r.problem().find("type 2"), std::string::npos);
}

TEST(ClientHello, MalformedRecords) {
    // An empty handshake record.
    EXPECT_EQ(read_all(std::string("\x16\x03\x01\x00\x00", 5)).verdict(), hello_verdict::malformed);
    // A record over 2^14 bytes.
    EXPECT_EQ(read_all(std::string("\x16\x03\x01\x40\x01", 5)).verdict(), hello_verdict::malformed);
    // An alert record in the middle of a hello split over two records.
    const auto message = test::client_hello_message({});
    std::string bytes = test::tls_records(message.substr(0, 20));
    bytes += std::string("\x15\x03\x03\x00\x02\x02\x28", 7);
    const auto r = read_all(bytes);
    EXPECT_EQ(r.verdict(), hello_verdict::malformed);
    EXPECT_NE(r.problem().find("type 21"), std::string::npos) << r.problem();
}

TEST(ClientHello, MalformedStructure) {
    const auto message = test::client_hello_message({});
    // The body cut short: the handshake length says more than the hello holds.
    auto cut = message.substr(0, 60);
    cut.replace(1, 3, test::u24(cut.size() - 4));
    EXPECT_EQ(read_all(test::tls_records(cut)).verdict(), hello_verdict::malformed);
    // Trailing bytes after the extensions.
    auto trailing = message + "zz";
    trailing.replace(1, 3, test::u24(trailing.size() - 4));
    EXPECT_EQ(read_all(test::tls_records(trailing)).verdict(), hello_verdict::malformed);
    // A session id longer than 32 bytes.
    auto long_id = message;
    long_id[4 + 2 + 32] = 33;
    EXPECT_EQ(read_all(test::tls_records(long_id)).verdict(), hello_verdict::malformed);
}

TEST(ClientHello, MalformedExtensions) {
    // The same extension twice.
    EXPECT_EQ(read_all(with_extra(test::extension(43, "\x02\x03\x04"))).verdict(),
              hello_verdict::malformed);
    // Two host_names in one server_name.
    hello_spec two;
    two.sni.clear();
    const std::string entries = test::u8(0) + test::u16(1) + "a" + test::u8(0) + test::u16(1) + "b";
    two.extra = test::extension(0, test::u16(entries.size()) + entries);
    const auto r = read_all(client_hello_bytes(two));
    EXPECT_EQ(r.verdict(), hello_verdict::malformed);
    EXPECT_NE(r.problem().find("two host_names"), std::string::npos);
    // An empty ALPN protocol name.
    hello_spec alpn;
    alpn.alpn = {"h2", ""};
    EXPECT_EQ(read_all(client_hello_bytes(alpn)).verdict(), hello_verdict::malformed);
    // server_name with an empty list (what a server sends back, not a client).
    hello_spec empty;
    empty.sni.clear();
    empty.extra = test::extension(0, "");
    EXPECT_EQ(read_all(client_hello_bytes(empty)).verdict(), hello_verdict::malformed);
    // An extension whose length runs past the block.
    const auto cut = read_all(with_extra(std::string("\x00\x2a\x00\x09", 4)));
    EXPECT_EQ(cut.verdict(), hello_verdict::malformed);
    EXPECT_NE(cut.problem().find("cut short"), std::string::npos) << cut.problem();
}

TEST(ClientHello, UnknownServerNameTypesAreSkipped) {
    hello_spec s;
    s.sni.clear();
    const std::string entries =
        test::u8(7) + test::u16(3) + "abc" + test::u8(0) + test::u16(6) + "x.test";
    s.extra = test::extension(0, test::u16(entries.size()) + entries);
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello) << r.problem();
    EXPECT_EQ(r.hello().sni, "x.test");
}

TEST(ClientHello, InvalidServerNamesAreReportedAndEscaped) {
    const std::vector<std::string> names{
        "bad name.test", "1.2.3.4", "two.dots..", "-lead.test", std::string("nul\0.test", 9),
        "a..b"};
    for (const auto& name : names) {
        hello_spec s;
        s.sni = name;
        const auto r = read_all(client_hello_bytes(s));
        ASSERT_EQ(r.verdict(), hello_verdict::hello) << name;
        EXPECT_FALSE(r.hello().sni_valid) << name;
        for (char c : r.hello().sni)
            EXPECT_TRUE(c > 0x20 && c < 0x7f && c != '"') << name;
    }
    hello_spec s;
    s.sni = "bad name.test";
    EXPECT_EQ(read_all(client_hello_bytes(s)).hello().sni, "bad\\x20name.test");
}

TEST(ClientHello, OneTrailingDotNamesTheSameServer) {
    hello_spec s;
    s.sni = "Blocked.Test.";
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello);
    EXPECT_TRUE(r.hello().sni_valid);
    EXPECT_EQ(r.hello().sni, "blocked.test");
}

TEST(ClientHello, TooManyRecordsIsTheSameVerdictHoweverSplit) {
    hello_spec s;
    s.padding = 3200; // about 3,300 one-byte records: just past the bound
    const auto bytes = client_hello_bytes(s, 1);
    const auto whole = read_all(bytes);
    const auto bytewise = read_bytewise(bytes);
    EXPECT_EQ(whole.verdict(), hello_verdict::too_large);
    EXPECT_EQ(bytewise.verdict(), whole.verdict());
    EXPECT_EQ(bytewise.taken(), whole.taken());
}

TEST(ClientHello, AlpnNamesAreLogSafe) {
    hello_spec s;
    s.alpn = {"h2", "x y,\"z\x01"};
    const auto r = read_all(client_hello_bytes(s));
    ASSERT_EQ(r.verdict(), hello_verdict::hello);
    EXPECT_EQ(r.hello().alpn[1], "x\\x20y\\x2c\\x22z\\x01");
}

TEST(ClientHello, FinishJudgesAHelloCutShort) {
    const auto bytes = client_hello_bytes({});
    client_hello_reader r;
    r.feed(bytes.substr(0, 40));
    EXPECT_EQ(r.finish(), hello_verdict::malformed);
    EXPECT_NE(r.problem().find("40 bytes"), std::string::npos);

    client_hello_reader nothing;
    EXPECT_EQ(nothing.finish(), hello_verdict::need_more);

    client_hello_reader whole;
    whole.feed(bytes);
    EXPECT_EQ(whole.finish(), hello_verdict::hello);
}

TEST(ClientHello, DnsNames) {
    EXPECT_TRUE(is_dns_name("example.test"));
    EXPECT_TRUE(is_dns_name("a"));
    EXPECT_TRUE(is_dns_name("xn--bcher-kva.example"));
    EXPECT_TRUE(is_dns_name("my_host.example.test"));
    EXPECT_TRUE(is_dns_name("Mixed.Case.Test"));
    EXPECT_TRUE(is_dns_name("1.2.3.example"));
    EXPECT_TRUE(is_dns_name(std::string(63, 'a') + ".test"));
    EXPECT_FALSE(is_dns_name(std::string(64, 'a') + ".test"));
    EXPECT_FALSE(is_dns_name(std::string(250, 'a') + ".test"));
    EXPECT_FALSE(is_dns_name(""));
    EXPECT_FALSE(is_dns_name("example.test."));
    EXPECT_FALSE(is_dns_name(".example.test"));
    EXPECT_FALSE(is_dns_name("127.0.0.1"));
    EXPECT_FALSE(is_dns_name("::1"));
    EXPECT_FALSE(is_dns_name("a-.test"));
    EXPECT_FALSE(is_dns_name("exa mple.test"));
    EXPECT_FALSE(is_dns_name("ex\xc3\xa4mple.test"));
}

} // namespace ferry::tls

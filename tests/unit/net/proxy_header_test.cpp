// The PROXY protocol parser (HAProxy's doc/proxy-protocol.txt): every prefix of a good header
// asks for more, the whole header is read to its last byte and never past it, and anything
// that breaks the text is refused with a reason.
#include "net/proxy_header.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace ferry::net {
namespace {

using bytes = std::vector<unsigned char>;
using status = proxy_parse_status;
namespace asio = boost::asio;

bytes of(std::string_view s) {
    return bytes(s.begin(), s.end());
}

proxy_parse parse(const bytes& b) {
    return parse_proxy_header(b);
}

const bytes signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// A v2 header: version/command, family/protocol, then `payload` (its length is written).
bytes v2(unsigned char ver_cmd, unsigned char fam, const bytes& payload) {
    bytes b = signature;
    b.push_back(ver_cmd);
    b.push_back(fam);
    b.push_back(static_cast<unsigned char>(payload.size() >> 8));
    b.push_back(static_cast<unsigned char>(payload.size() & 0xff));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

// 192.0.2.7:51000 → 198.51.100.1:3128, for TCP over IPv4.
const bytes inet4_block{192, 0, 2, 7, 198, 51, 100, 1, 0xC7, 0x38, 0x0C, 0x38};

bytes inet6_block() {
    bytes b(36, 0);
    b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8, b[15] = 0x05;  // 2001:db8::5
    b[16] = 0x20, b[17] = 0x01, b[18] = 0x0d, b[19] = 0xb8, b[31] = 1; // 2001:db8::1
    b[32] = 0x01, b[33] = 0xBB, b[34] = 0x0C, b[35] = 0x38;            // 443 → 3128
    return b;
}

// Every strict prefix of `whole` needs more; the whole of it (and it followed by a request)
// is a header of exactly its size.
void expect_whole_header(const bytes& whole) {
    for (std::size_t n = 0; n < whole.size(); ++n)
        EXPECT_EQ(parse(bytes(whole.begin(), whole.begin() + n)).status, status::need_more)
            << "after " << n << " of " << whole.size() << " bytes";
    auto r = parse(whole);
    ASSERT_EQ(r.status, status::done) << r.why;
    EXPECT_EQ(r.header.size, whole.size());
    bytes followed = whole;
    for (char c : std::string("GET / HTTP/1.1\r\n\r\n"))
        followed.push_back(static_cast<unsigned char>(c));
    auto f = parse(followed);
    ASSERT_EQ(f.status, status::done);
    EXPECT_EQ(f.header.size, whole.size()) << "the request after the header is not the header's";
}

TEST(ProxyHeaderV1, Tcp4CarriesTheClientAndEveryPrefixWaits) {
    const auto line = of("PROXY TCP4 192.0.2.7 198.51.100.1 51000 3128\r\n");
    expect_whole_header(line);
    auto r = parse(line);
    EXPECT_EQ(r.header.version, 1);
    EXPECT_FALSE(r.header.local);
    EXPECT_EQ(r.header.source.address().to_string(), "192.0.2.7");
    EXPECT_EQ(r.header.source.port(), 51000);
    EXPECT_EQ(r.header.destination.address().to_string(), "198.51.100.1");
    EXPECT_EQ(r.header.destination.port(), 3128);
}

TEST(ProxyHeaderV1, Tcp6) {
    const auto line = of("PROXY TCP6 2001:db8::5 2001:DB8:0:0:0:0:0:1 443 0\r\n");
    expect_whole_header(line);
    auto r = parse(line);
    EXPECT_EQ(r.header.source.address().to_string(), "2001:db8::5");
    EXPECT_EQ(r.header.destination.address().to_string(), "2001:db8::1");
    EXPECT_EQ(r.header.destination.port(), 0);
}

TEST(ProxyHeaderV1, UnknownKeepsTheConnectionsOwnAddress) {
    for (auto text : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n",
                      "PROXY UNKNOWN whatever \x01\xff is here\r\n"}) {
        const auto line = of(text);
        expect_whole_header(line);
        EXPECT_TRUE(parse(line).header.local) << text;
    }
}

TEST(ProxyHeaderV1, TheLongestLineIsAcceptedAndOneByteMoreIsTooLarge) {
    const std::string longest = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    ASSERT_EQ(longest.size(), proxy_v1_max);
    expect_whole_header(of(longest));
    std::string longer = longest;
    longer.insert(14, "f");
    auto r = parse(of(longer));
    EXPECT_EQ(r.status, status::too_large);
    EXPECT_EQ(parse(of("PROXY UNKNOWN " + std::string(200, 'a'))).status, status::too_large);
}

TEST(ProxyHeaderV1, SplitOverReadsIsDecidedOnlyWithTheWholeLine) {
    const std::string line = "PROXY TCP4 10.1.2.3 10.0.0.1 40000 80\r\n";
    bytes so_far;
    for (std::size_t i = 0; i < line.size(); i += 7) {
        const auto part = line.substr(i, 7);
        so_far.insert(so_far.end(), part.begin(), part.end());
        auto r = parse(so_far);
        if (so_far.size() < line.size())
            EXPECT_EQ(r.status, status::need_more);
        else
            EXPECT_EQ(r.status, status::done);
    }
}

TEST(ProxyHeaderV1, StrictText) {
    for (auto text : {
             "PROXY TCP4 192.0.2.7 198.51.100.1 51000 3128\n",     // LF alone
             "PROXY TCP4 192.0.2.7 198.51.100.1 51000 3128\rX",    // CR alone
             "PROXY TCP4  192.0.2.7 198.51.100.1 51000 3128\r\n",  // two spaces
             "PROXY TCP4 192.0.2.7 198.51.100.1 51000 3128 \r\n",  // trailing space
             "PROXY TCP4 192.0.2.7 198.51.100.1 51000\r\n",        // a field short
             "PROXY TCP4 192.0.2.7 198.51.100.1 51000 3128 1\r\n", // a field more
             "PROXY TCP4 192.0.2.07 198.51.100.1 51000 3128\r\n",  // leading zero
             "PROXY TCP4 192.0.2.256 198.51.100.1 51000 3128\r\n", // octet > 255
             "PROXY TCP4 192.0.2 198.51.100.1 51000 3128\r\n",     // three octets
             "PROXY TCP4 192.0.2.7. 198.51.100.1 51000 3128\r\n",  // trailing dot
             "PROXY TCP4 2001:db8::5 198.51.100.1 51000 3128\r\n", // IPv6 under TCP4
             "PROXY TCP6 192.0.2.7 2001:db8::1 51000 3128\r\n",    // IPv4 under TCP6
             "PROXY TCP6 fe80::1%eth0 2001:db8::1 1 2\r\n",        // a zone index
             "PROXY TCP6 ::ffff:1.2.3.4 2001:db8::1 1 2\r\n",      // a dotted quad
             "PROXY TCP6 1::2::3 2001:db8::1 1 2\r\n",             // two "::"
             "PROXY TCP4 192.0.2.7 198.51.100.1 051000 3128\r\n",  // port leading zero
             "PROXY TCP4 192.0.2.7 198.51.100.1 65536 3128\r\n",   // port too large
             "PROXY TCP4 192.0.2.7 198.51.100.1 -1 3128\r\n",      // signed port
             "PROXY TCP4 192.0.2.7 198.51.100.1 1 +3\r\n",         // signed port
             "PROXY TCP5 192.0.2.7 198.51.100.1 1 3\r\n",          // protocol
             "PROXY tcp4 192.0.2.7 198.51.100.1 1 3\r\n",          // case
             "PROXY UNKNOWNX\r\n",                                 // protocol
             "PROXY \r\n",                                         // nothing
             "proxy TCP4 192.0.2.7 198.51.100.1 1 3\r\n",          // not PROXY
         }) {
        auto r = parse(of(text));
        EXPECT_EQ(r.status, status::malformed) << text;
        EXPECT_FALSE(r.why.empty());
    }
}

TEST(ProxyHeaderV1, AProtocolThatCannotBeIsRefusedBeforeTheLineEnds) {
    EXPECT_EQ(parse(of("PROXY X")).status, status::malformed);
    EXPECT_EQ(parse(of("PROXY TCP9")).status, status::malformed);
    EXPECT_EQ(parse(of("PROXY TCP")).status, status::need_more);
    EXPECT_EQ(parse(of("PROXY UNKN")).status, status::need_more);
}

TEST(ProxyHeader, GarbageIsRefusedAtItsFirstByte) {
    EXPECT_EQ(parse(of("G")).status, status::malformed);
    EXPECT_EQ(parse(of("GET / HTTP/1.1\r\n\r\n")).status, status::malformed);
    EXPECT_EQ(parse(bytes{0x16, 0x03, 0x01}).status, status::malformed); // a TLS hello
    EXPECT_EQ(parse(bytes{0x05, 0x01, 0x00}).status, status::malformed); // SOCKS5
    EXPECT_EQ(parse(of("PRO")).status, status::need_more);
    EXPECT_EQ(parse(of("PROXZ")).status, status::malformed);
    EXPECT_EQ(parse(of("PROXY")).status, status::need_more);
    EXPECT_EQ(parse(bytes{}).status, status::need_more);
    // The v2 signature, broken at each of its bytes.
    for (std::size_t i = 0; i < signature.size(); ++i) {
        bytes b = signature;
        b[i] ^= 0x40;
        b.resize(i + 1);
        EXPECT_EQ(parse(b).status, status::malformed) << "signature byte " << i;
    }
}

TEST(ProxyHeaderV2, ProxyTcp4) {
    const auto h = v2(0x21, 0x11, inet4_block);
    expect_whole_header(h);
    auto r = parse(h);
    EXPECT_EQ(r.header.version, 2);
    EXPECT_FALSE(r.header.local);
    EXPECT_EQ(r.header.source, asio::ip::tcp::endpoint(asio::ip::make_address("192.0.2.7"), 51000));
    EXPECT_EQ(r.header.destination,
              asio::ip::tcp::endpoint(asio::ip::make_address("198.51.100.1"), 3128));
}

TEST(ProxyHeaderV2, ProxyTcp6) {
    const auto h = v2(0x21, 0x21, inet6_block());
    expect_whole_header(h);
    auto r = parse(h);
    EXPECT_EQ(r.header.source, asio::ip::tcp::endpoint(asio::ip::make_address("2001:db8::5"), 443));
    EXPECT_EQ(r.header.destination.address().to_string(), "2001:db8::1");
}

TEST(ProxyHeaderV2, TlvsAreSkippedAndMustFitTheHeader) {
    bytes payload = inet4_block;
    // ALPN "h2", an authority, an empty NOOP, a custom TLV of 300 bytes.
    for (unsigned char c : bytes{0x01, 0x00, 0x02, 'h', '2', 0x02, 0x00, 0x03, 'a', '.', 'b', 0x04,
                                 0x00, 0x00, 0xE0, 0x01, 0x2C})
        payload.push_back(c);
    payload.insert(payload.end(), 300, 0xAA);
    const auto h = v2(0x21, 0x11, payload);
    expect_whole_header(h);
    EXPECT_EQ(parse(h).header.source.address().to_string(), "192.0.2.7");

    // A TLV whose length runs past the header, and one cut in its type-length.
    bytes overrun = inet4_block;
    for (unsigned char c : bytes{0x05, 0x00, 0x09, 1, 2, 3})
        overrun.push_back(c);
    EXPECT_EQ(parse(v2(0x21, 0x11, overrun)).status, status::malformed);
    bytes cut = inet4_block;
    cut.push_back(0x05);
    cut.push_back(0x00);
    EXPECT_EQ(parse(v2(0x21, 0x11, cut)).status, status::malformed);
}

TEST(ProxyHeaderV2, LocalKeepsTheConnectionsOwnAddressWhateverItCarries) {
    for (const auto& h : {v2(0x20, 0x00, {}), v2(0x20, 0x11, inet4_block), v2(0x20, 0x11, {}),
                          v2(0x20, 0xFF, {1, 2, 3})}) {
        expect_whole_header(h);
        auto r = parse(h);
        EXPECT_TRUE(r.header.local);
        EXPECT_EQ(r.header.size, h.size());
    }
}

TEST(ProxyHeaderV2, FamiliesFerryCannotUseKeepTheConnectionsOwnAddress) {
    EXPECT_TRUE(parse(v2(0x21, 0x00, {})).header.local);              // UNSPEC
    EXPECT_TRUE(parse(v2(0x21, 0x00, {9, 9, 9})).header.local);       // UNSPEC, with bytes
    EXPECT_TRUE(parse(v2(0x21, 0x31, bytes(216, 'x'))).header.local); // AF_UNIX stream
    EXPECT_TRUE(parse(v2(0x21, 0x12, inet4_block)).header.local);     // UDP over IPv4
    EXPECT_TRUE(parse(v2(0x21, 0x10, inet4_block)).header.local);     // IPv4, UNSPEC proto
    EXPECT_EQ(parse(v2(0x21, 0x31, bytes(216, 'x'))).status, status::done);
}

TEST(ProxyHeaderV2, RefusesWhatTheSpecificationRefuses) {
    EXPECT_EQ(parse(v2(0x11, 0x11, inet4_block)).status, status::malformed); // version 1
    EXPECT_EQ(parse(v2(0x31, 0x11, inet4_block)).status, status::malformed); // version 3
    EXPECT_EQ(parse(v2(0x22, 0x11, inet4_block)).status, status::malformed); // command 2
    EXPECT_EQ(parse(v2(0x21, 0x41, inet4_block)).status, status::malformed); // family 4
    EXPECT_EQ(parse(v2(0x21, 0x13, inet4_block)).status, status::malformed); // protocol 3
    // An address block shorter than its family's addresses.
    EXPECT_EQ(parse(v2(0x21, 0x11, bytes(11, 0))).status, status::malformed);
    EXPECT_EQ(parse(v2(0x21, 0x21, bytes(35, 0))).status, status::malformed);
    EXPECT_EQ(parse(v2(0x21, 0x31, bytes(215, 0))).status, status::malformed);
}

TEST(ProxyHeaderV2, TheBoundIsDecidedFromTheFixedPartAlone) {
    bytes payload = inet4_block;
    payload.push_back(0x04);
    payload.push_back(0x0F);
    payload.push_back(0xF1); // NOOP of 4081: the payload is 4096 bytes, the most accepted
    payload.insert(payload.end(), 4081, 0);
    ASSERT_EQ(payload.size(), proxy_v2_max_payload);
    auto at_bound = v2(0x21, 0x11, payload);
    EXPECT_EQ(parse(at_bound).status, status::done);
    EXPECT_EQ(parse(at_bound).header.size, proxy_header_max);

    payload.push_back(0); // one more: refused as soon as the length is known
    payload[14] = 0xF2;
    auto over = v2(0x21, 0x11, payload);
    over.resize(proxy_v2_fixed);
    EXPECT_EQ(parse(over).status, status::too_large);
    auto huge = v2(0x21, 0x11, {});
    huge[14] = huge[15] = 0xFF;
    EXPECT_EQ(parse(huge).status, status::too_large);
}

} // namespace
} // namespace ferry::net

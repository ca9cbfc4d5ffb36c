// observe/tunnel_fields: what a CONNECT tunnel's client sent first, in each access-log format
// and the flow log; nothing for other exchanges (their lines are in access_log_formats_test).
#include "observe/access_log.h"
#include "observe/flow_log.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::observe {

namespace {

using namespace std::chrono;
using kind = exchange_record::tunnel_tls;

const auto t0 = system_clock::time_point(seconds(1700000000)) + milliseconds(123);
const auto s0 = steady_clock::time_point(hours(1));

exchange_record tunnel_record() {
    exchange_record r;
    r.connection = 7;
    r.client = "127.0.0.1:51234";
    r.started = t0;
    r.started_steady = s0;
    r.method = "CONNECT";
    r.target = "example.test:443";
    r.request_line = "CONNECT example.test:443 HTTP/1.1";
    r.user_agent = "curl/8.0";
    r.upstream = "example.test:443";
    r.upstream_address = "127.0.0.1";
    r.upstream_new = true;
    r.upstream_fate = exchange_record::fate::closed;
    r.status = 200;
    r.status_line = "HTTP/1.1 200 Connection established";
    r.body_bytes = 5000;
    r.bytes_to_client = 5039;
    r.bytes_from_client = 800;
    r.tunnel_bytes_kind = kind::tls;
    r.tls_sni = "example.test";
    r.tls_alpn = "h2,http/1.1";
    return r;
}

std::string line(access_log_format f, const exchange_record& r) {
    std::string out;
    append_access_line(f, r, r.started_steady + seconds(2), out);
    return out;
}

} // namespace

TEST(TunnelFields, FerryLineNamesSniAlpnAndEch) {
    auto r = tunnel_record();
    EXPECT_EQ(line(access_log_format::ferry, r),
              "2023-11-14T22:13:20.123Z 127.0.0.1:51234 CONNECT example.test:443 200 5039 800 "
              "2000.000ms sni=example.test alpn=h2,http/1.1\n");
    r.tls_ech = true;
    r.tls_sni.clear();
    r.tls_alpn.clear();
    r.cause = "ferry: tunnel refused: the TLS hello names no server (tunnel_sni = require)";
    r.tunnel_refused = true;
    EXPECT_EQ(line(access_log_format::ferry, r),
              "2023-11-14T22:13:20.123Z 127.0.0.1:51234 CONNECT example.test:443 200 5039 800 "
              "2000.000ms sni=- alpn=- ech=1 \"ferry: tunnel refused: the TLS hello names no "
              "server (tunnel_sni = require)\"\n");
}

TEST(TunnelFields, NotTlsAndUnreadableHellosSaySo) {
    auto r = tunnel_record();
    r.tunnel_bytes_kind = kind::not_tls;
    r.tls_sni.clear();
    r.tls_alpn.clear();
    EXPECT_TRUE(line(access_log_format::ferry, r).ends_with("2000.000ms tls=no\n"));
    // squid and combined lines stay as they were without a readable hello.
    EXPECT_TRUE(line(access_log_format::combined, r).ends_with("\"curl/8.0\"\n"));
    EXPECT_TRUE(line(access_log_format::squid, r).ends_with("HIER_DIRECT/127.0.0.1 -\n"));
    r.tunnel_bytes_kind = kind::tls;
    r.tls_unreadable = "too_large";
    r.tls_problem = "a ClientHello of 71000 bytes (at most 65536 are read)";
    EXPECT_TRUE(line(access_log_format::ferry, r).ends_with("2000.000ms tls=too_large\n"));
    EXPECT_NE(
        line(access_log_format::json, r)
            .find(R"("tunnel_tls":"too_large","tls_sni":null,"tls_alpn":null,"tls_ech":false)"),
        std::string::npos);
}

TEST(TunnelFields, CombinedAndSquidEndInSniAndAlpn) {
    auto r = tunnel_record();
    r.tls_ech = true; // not in these two formats
    EXPECT_EQ(line(access_log_format::combined, r),
              "127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"CONNECT example.test:443 HTTP/1.1\" "
              "200 5000 \"-\" \"curl/8.0\" sni=example.test alpn=h2,http/1.1\n");
    EXPECT_EQ(line(access_log_format::squid, r),
              "1700000002.123   2000 127.0.0.1 TCP_TUNNEL/200 5039 CONNECT example.test:443 - "
              "HIER_DIRECT/127.0.0.1 - sni=example.test alpn=h2,http/1.1\n");
}

TEST(TunnelFields, JsonHasTheHello) {
    auto r = tunnel_record();
    r.tls_ech = true;
    const auto json = line(access_log_format::json, r);
    EXPECT_NE(json.find(R"("tunnel_tls":"hello","tls_sni":"example.test",)"
                        R"("tls_alpn":"h2,http/1.1","tls_ech":true,"user_agent":"curl/8.0")"),
              std::string::npos)
        << json;
    r.tunnel_bytes_kind = kind::unknown; // the client sent nothing: no member at all
    EXPECT_EQ(line(access_log_format::json, r).find("tls"), std::string::npos);
}

TEST(TunnelFields, FlowBlockHasTheHelloAndTheRefusal) {
    auto r = tunnel_record();
    std::string out;
    append_flow_exchange(r, out);
    EXPECT_EQ(out, "--- connection #7 ---\n"
                   "CLI ==> PRX --- SRV\n"
                   " > CONNECT example.test:443 HTTP/1.1\n"
                   " > curl/8.0\n"
                   "[SRV connected to example.test:443]\n"
                   "CLI --- PRX ==> SRV\n"
                   " > TLS hello: sni=example.test alpn=h2,http/1.1 ech=no\n"
                   "CLI --- PRX <== SRV\n"
                   " > HTTP/1.1 200 Connection established\n"
                   " > - 5000 bytes\n"
                   "CLI <== PRX --- SRV\n"
                   "[SRV disconnected from example.test:443]\n");
    r.tls_sni = "other.test";
    r.tunnel_refused = true;
    r.cause = "ferry: tunnel refused: TLS server name other.test is not the CONNECT host "
              "example.test (tunnel_sni = match)";
    out.clear();
    append_flow_exchange(r, out);
    EXPECT_NE(out.find(" > TLS hello: sni=other.test alpn=h2,http/1.1 ech=no\n"
                       " > ferry: tunnel refused: TLS server name other.test is not the CONNECT "
                       "host example.test (tunnel_sni = match)\n"),
              std::string::npos)
        << out;
    r.tunnel_bytes_kind = kind::not_tls;
    r.tunnel_refused = false;
    out.clear();
    append_flow_exchange(r, out);
    EXPECT_NE(out.find("CLI --- PRX ==> SRV\n > not TLS\n"), std::string::npos) << out;
}

} // namespace ferry::observe

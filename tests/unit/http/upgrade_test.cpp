// upgrade: when an Upgrade offer is passed on and whether a 101 accepts it (RFC 9110 §7.8).
#include "http/upgrade.h"

#include "http/head_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::http {
namespace {

bool forwards(std::string raw, bool has_body = false) {
    request_head head;
    EXPECT_EQ(parse_request_head(raw, 8192, head), parse_error::none) << raw;
    return forwards_upgrade(head, has_body);
}

bool offered(std::string request, std::string response) {
    request_head req;
    response_head resp;
    EXPECT_EQ(parse_request_head(request, 8192, req), parse_error::none) << request;
    EXPECT_EQ(parse_response_head(response, resp), parse_error::none) << response;
    return switch_was_offered(req, resp);
}

TEST(Upgrade, AnOfferNeedsHttp11AProtocolConnectionUpgradeAndNoBody) {
    const std::string ws = "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    EXPECT_TRUE(forwards("GET http://a.test/ HTTP/1.1\r\n" + ws));
    EXPECT_TRUE(forwards("GET http://a.test/ HTTP/1.1\r\nUpgrade: websocket\r\n"
                         "Connection: keep-alive\r\nConnection: x, upgrade\r\n\r\n"));
    EXPECT_FALSE(forwards("GET http://a.test/ HTTP/1.0\r\n" + ws));
    EXPECT_FALSE(forwards("GET http://a.test/ HTTP/1.1\r\n" + ws, true));
    EXPECT_FALSE(forwards("GET http://a.test/ HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"));
    EXPECT_FALSE(forwards("GET http://a.test/ HTTP/1.1\r\nConnection: upgrade\r\n\r\n"));
    EXPECT_FALSE(
        forwards("GET http://a.test/ HTTP/1.1\r\nUpgrade:\r\nConnection: upgrade\r\n\r\n"));
    EXPECT_FALSE(forwards("GET http://a.test/ HTTP/1.1\r\nUpgrade: websocket\r\n"
                          "Connection: upgraded\r\n\r\n"));
}

TEST(Upgrade, ASwitchMustNameOnlyOfferedProtocols) {
    const std::string req = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket, foo/2\r\n"
                            "Upgrade: Bar\r\nConnection: upgrade\r\n\r\n";
    auto switched = [&](std::string upgrade_fields) {
        return offered(req, "HTTP/1.1 101 Switching Protocols\r\n" + upgrade_fields + "\r\n");
    };
    EXPECT_TRUE(switched("Upgrade: websocket\r\n"));
    EXPECT_TRUE(switched("Upgrade: WebSocket\r\n"));
    EXPECT_TRUE(switched("Upgrade: foo/2\r\n"));
    EXPECT_TRUE(switched("Upgrade: bar\r\n"));
    EXPECT_TRUE(switched("Upgrade: foo/2, websocket\r\n")); // layers, each offered
    EXPECT_FALSE(switched(""));                             // no Upgrade field
    EXPECT_FALSE(switched("Upgrade: \r\n"));
    EXPECT_FALSE(switched("Upgrade: h2c\r\n"));
    EXPECT_FALSE(switched("Upgrade: foo\r\n"));   // a version was offered, not the bare name
    EXPECT_FALSE(switched("Upgrade: foo/3\r\n")); // another version
    EXPECT_FALSE(switched("Upgrade: websocket, h2c\r\n"));
    EXPECT_FALSE(switched("Upgrade: websocket\r\nUpgrade: h2c\r\n"));
}

} // namespace
} // namespace ferry::http

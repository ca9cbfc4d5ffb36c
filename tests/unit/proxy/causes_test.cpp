// The access log's causes name who ended an exchange, and a timeout by its option and value.
#include "proxy/causes.h"

#include <gtest/gtest.h>

namespace ferry::proxy::causes {
namespace {

using std::chrono::milliseconds;

TEST(Causes, NameTheSideThatEndedTheExchange) {
    EXPECT_EQ(client_closed("response"),
              "ferry: client closed the connection in the middle of the response");
    EXPECT_EQ(origin_closed("example.test:80"),
              "ferry: example.test:80 closed the connection in the middle of the response");
}

TEST(Causes, NameTheTimeoutByItsOptionAndValue) {
    EXPECT_EQ(client_not_reading(milliseconds(60'000), "response"),
              "ferry: client read nothing for --send-timeout (60s) in the middle of the response");
    EXPECT_EQ(client_stalled_body(milliseconds(2'500)),
              "ferry: client sent nothing for --idle-timeout (2.5s) in the middle of the request "
              "body");
    EXPECT_EQ(origin_stalled("o:80", milliseconds(1'000)),
              "ferry: o:80 sent nothing for --response-timeout (1s) in the middle of the response");
    EXPECT_EQ(tunnel_idle(milliseconds(300'000)),
              "ferry: tunnel idle timeout: no byte either way for --tunnel-idle-timeout (300s)");
}

TEST(Causes, TheShutdownIsFerrysOwn) {
    EXPECT_EQ(shutdown(milliseconds(2'000), "the response"),
              "ferry: shutting down: the response cut when the drain time ran out "
              "(--shutdown-timeout 2s) or a second stop signal came");
}

} // namespace
} // namespace ferry::proxy::causes

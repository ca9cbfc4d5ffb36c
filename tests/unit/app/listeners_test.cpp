// plan_listeners: what start-up binds and a reload keeps, opens and closes; a listener is its
// configured endpoint and its front end, so a scheme that changes reopens on the same port.
#include "app/listeners.h"

#include <gtest/gtest.h>

namespace ferry::app {
namespace {

using tcp = boost::asio::ip::tcp;

// Two front ends as the registry might have them one day; only their identity matters here.
const frontend::front_end http{"http", "HTTP/1.1 forward proxy", nullptr};
const frontend::front_end other{"other", "another protocol", nullptr};

tcp::endpoint at(std::uint16_t port) {
    return {boost::asio::ip::make_address("127.0.0.1"), port};
}

// Binds port 0 to 40000, 40001, ...; `taken` is in use by another process.
struct fake_claims {
    std::uint16_t next_free = 40000;
    std::uint16_t taken = 0;
    std::vector<tcp::endpoint> claimed;
    claim_fn fn() {
        return [this](const tcp::endpoint& e, boost::system::error_code& ec) {
            claimed.push_back(e);
            if (e.port() != 0 && e.port() == taken) {
                ec = boost::asio::error::address_in_use;
                return e;
            }
            return e.port() == 0 ? at(next_free++) : e;
        };
    }
};

TEST(ListenersPlan, StartUpClaimsEveryListener) {
    fake_claims claims;
    listener_change change;
    std::string why;
    ASSERT_TRUE(plan_listeners({{at(3128), &http}, {at(0), &http}}, {}, claims.fn(), change, why));
    ASSERT_EQ(change.next.size(), 2u);
    EXPECT_EQ(change.next[1].wanted, at(0));
    EXPECT_EQ(change.next[1].bound.endpoint, at(40000));
    EXPECT_EQ(change.next[1].bound.front_end, &http);
    EXPECT_EQ(change.open.size(), 2u);
    EXPECT_TRUE(change.close.empty());
    EXPECT_EQ(claims.claimed.size(), 2u);
}

TEST(ListenersPlan, AReloadKeepsOpensAndCloses) {
    const listener_list running{{at(0), {at(40000), &http}}, {at(3128), {at(3128), &http}}};
    fake_claims claims;
    listener_change change;
    std::string why;
    ASSERT_TRUE(
        plan_listeners({{at(0), &http}, {at(3129), &http}}, running, claims.fn(), change, why));
    ASSERT_EQ(change.next.size(), 2u);
    EXPECT_EQ(change.next[0].bound.endpoint, at(40000)); // port 0 keeps the port it was given
    ASSERT_EQ(change.open.size(), 1u);
    EXPECT_EQ(change.open[0].endpoint, at(3129));
    ASSERT_EQ(change.close.size(), 1u);
    EXPECT_EQ(change.close[0].endpoint, at(3128));
    EXPECT_EQ(claims.claimed, std::vector<tcp::endpoint>{at(3129)}); // only the new one
}

TEST(ListenersPlan, ASchemeThatChangesReopensOnTheSamePort) {
    const listener_list running{{at(0), {at(40000), &http}}};
    fake_claims claims;
    listener_change change;
    std::string why;
    ASSERT_TRUE(plan_listeners({{at(0), &other}}, running, claims.fn(), change, why));
    EXPECT_TRUE(claims.claimed.empty()) << "the port is ferry's already";
    ASSERT_EQ(change.close.size(), 1u);
    EXPECT_EQ(change.close[0].endpoint, at(40000));
    EXPECT_EQ(change.close[0].front_end, &http);
    ASSERT_EQ(change.open.size(), 1u);
    EXPECT_EQ(change.open[0].endpoint, at(40000));
    EXPECT_EQ(change.open[0].front_end, &other);
    ASSERT_EQ(change.next.size(), 1u);
    EXPECT_EQ(change.next[0].bound.front_end, &other);
}

TEST(ListenersPlan, APortInUseFailsTheWholePlan) {
    fake_claims claims;
    claims.taken = 3129;
    listener_change change;
    std::string why;
    EXPECT_FALSE(
        plan_listeners({{at(3128), &http}, {at(3129), &http}}, {}, claims.fn(), change, why));
    EXPECT_NE(why.find("cannot listen on 127.0.0.1:3129"), std::string::npos) << why;
}

} // namespace
} // namespace ferry::app

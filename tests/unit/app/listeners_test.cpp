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

config::direct_rule cidr(std::string network, unsigned prefix) {
    config::direct_rule r;
    r.what = config::direct_rule::kind::cidr;
    r.network = std::move(network);
    r.prefix = prefix;
    return r;
}

// The PROXY protocol's balancers are part of a listener's identity: a reload that turns it on
// or off, or changes whom it believes, reopens the listener on its port; one that does not
// keeps it (and the connections it accepted) as it was.
TEST(ListenersPlan, AChangedProxyProtocolReopensOnTheSamePort) {
    const std::vector<config::direct_rule> lb{cidr("10.0.0.0", 8)};
    const listener_list running{{at(0), {at(40000), &http, lb}}, {at(3128), {at(3128), &http}}};
    fake_claims claims;
    listener_change change;
    std::string why;
    const std::vector<config::direct_rule> other_lb{cidr("10.0.0.0", 8), cidr("192.0.2.1", 32)};
    ASSERT_TRUE(plan_listeners({{at(0), &http, other_lb}, {at(3128), &http, lb}}, running,
                               claims.fn(), change, why));
    EXPECT_TRUE(claims.claimed.empty()) << "both ports are ferry's already";
    ASSERT_EQ(change.close.size(), 2u);
    ASSERT_EQ(change.open.size(), 2u);
    EXPECT_EQ(change.open[0].endpoint, at(40000));
    EXPECT_EQ(change.open[0].proxy_protocol_from, other_lb);
    EXPECT_EQ(change.open[1].endpoint, at(3128));
    EXPECT_EQ(change.open[1].proxy_protocol_from, lb);
    EXPECT_EQ(change.close[0].proxy_protocol_from, lb);
    EXPECT_TRUE(change.close[1].proxy_protocol_from.empty());

    listener_change again;
    ASSERT_TRUE(plan_listeners({{at(0), &http, other_lb}, {at(3128), &http, lb}}, change.next,
                               claims.fn(), again, why));
    EXPECT_TRUE(again.open.empty()) << "the same balancers: kept";
    EXPECT_TRUE(again.close.empty());
}

TEST(ListenersPlan, ResolvingCarriesTheBalancersOnlyWhenTheProtocolIsOn) {
    config::listen_address on{"127.0.0.1", 3128, "http"};
    on.proxy_protocol = true;
    on.proxy_protocol_from = {cidr("10.0.0.0", 8)};
    config::listen_address off{"127.0.0.1", 3129, "http"};
    off.proxy_protocol_from = {cidr("10.0.0.0", 8)};
    std::vector<listener> out;
    ASSERT_TRUE(resolve_listeners({on, off}, out, ""));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].proxy_protocol_from, on.proxy_protocol_from);
    EXPECT_TRUE(out[1].proxy_protocol_from.empty());
}

} // namespace
} // namespace ferry::app

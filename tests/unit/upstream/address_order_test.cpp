// address_order: families alternate, IPv6 first, each in DNS order (RFC 8305 §4).
#include "upstream/address_order.h"

#include <gtest/gtest.h>

namespace ferry::upstream {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::make_address;

std::vector<address> list(std::initializer_list<const char*> texts) {
    std::vector<address> out;
    for (const char* t : texts)
        out.push_back(make_address(t));
    return out;
}

TEST(AddressOrder, FamiliesAlternateIpv6First) {
    auto in = list({"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"});
    EXPECT_EQ(interleave_families(in),
              list({"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"}));
}

TEST(AddressOrder, LongerFamilyFinishesTheList) {
    auto in = list({"2001:db8::1", "192.0.2.1", "192.0.2.2", "192.0.2.3"});
    EXPECT_EQ(interleave_families(in),
              list({"2001:db8::1", "192.0.2.1", "192.0.2.2", "192.0.2.3"}));
    in = list({"2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1"});
    EXPECT_EQ(interleave_families(in),
              list({"2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::3"}));
}

TEST(AddressOrder, OneFamilyKeepsDnsOrder) {
    auto v4 = list({"192.0.2.9", "192.0.2.1", "192.0.2.5"});
    EXPECT_EQ(interleave_families(v4), v4);
    auto v6 = list({"2001:db8::9", "2001:db8::1"});
    EXPECT_EQ(interleave_families(v6), v6);
    EXPECT_TRUE(interleave_families({}).empty());
}

} // namespace
} // namespace ferry::upstream

// special_names: names answered without DNS (RFC 6761 §6.3 localhost, §6.4 invalid).
#include "upstream/special_names.h"

#include <gtest/gtest.h>

namespace ferry::upstream {
namespace {

TEST(SpecialNames, LocalhostAndItsSubdomainsAreLoopback) {
    for (std::string_view name : {"localhost", "LOCALHOST", "LocalHost", "localhost.",
                                  "a.localhost", "www.example.localhost", "A.B.LOCALHOST."})
        EXPECT_EQ(classify_name(name), special_name::loopback) << name;
}

TEST(SpecialNames, InvalidAndItsSubdomainsNeverExist) {
    for (std::string_view name :
         {"invalid", "INVALID", "invalid.", "no-such-host.invalid", "a.b.Invalid."})
        EXPECT_EQ(classify_name(name), special_name::invalid) << name;
}

TEST(SpecialNames, LookalikesAreOrdinaryNames) {
    for (std::string_view name :
         {"", ".", "example.test", "localhost.example", "mylocalhost", "localhostx", "xlocalhost.",
          "localhost..", "notinvalid", "invalid.example", "127.0.0.1", "::1", "local", "host"})
        EXPECT_EQ(classify_name(name), special_name::none) << name;
}

} // namespace
} // namespace ferry::upstream

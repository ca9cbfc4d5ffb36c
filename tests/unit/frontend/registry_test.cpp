// The front-end registry and the configuration agree on the schemes a listener may have:
// config/ keeps its own list (it sits below frontend/ and cannot ask the registry), so a new
// front end without its scheme in config::listen_schemes, or the reverse, fails here.
#include "config/values.h"
#include "frontend/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>
#include <vector>

namespace ferry {
namespace {

TEST(ListenSchemes, AreTheRegistrysSchemes) {
    std::vector<std::string_view> registered,
        configured(std::begin(config::listen_schemes), std::end(config::listen_schemes));
    for (const auto& f : frontend::front_ends())
        registered.push_back(f.scheme);
    std::sort(registered.begin(), registered.end());
    std::sort(configured.begin(), configured.end());
    EXPECT_EQ(registered, configured);
}

TEST(ListenSchemes, EachHasItsFrontEnd) {
    for (auto scheme : config::listen_schemes) {
        const auto* f = frontend::front_end_for(scheme);
        ASSERT_NE(f, nullptr) << scheme;
        EXPECT_EQ(f->scheme, scheme);
        EXPECT_NE(f->serve, nullptr) << scheme;
    }
    EXPECT_EQ(frontend::front_end_for("socks4"), nullptr);
    EXPECT_NE(frontend::front_end_for("socks5"), nullptr);
    EXPECT_NE(frontend::front_end_for("https"), nullptr);
}

} // namespace
} // namespace ferry

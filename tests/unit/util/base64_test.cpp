// base64: RFC 4648 §10 test vectors both ways, and what decoding refuses.
#include "util/base64.h"

#include <gtest/gtest.h>

namespace ferry::util {
namespace {

TEST(Base64, Rfc4648Vectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded) << plain;
        EXPECT_EQ(base64_decode(encoded), plain) << encoded;
    }
}

TEST(Base64, BasicCredentialsFromRfc7617) {
    EXPECT_EQ(base64_encode("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(Base64, EveryByteValueRoundTrips) {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); n += 37)
        EXPECT_EQ(base64_decode(base64_encode(all.substr(0, n))), all.substr(0, n)) << n;
}

TEST(Base64, RefusesWhatIsNotCanonical) {
    for (const char* bad :
         {"Zg", "Zg=", "Z===", "Zm9v!", "Zh==", "Zm9=", "=Zm9", "Zg==Zg==", "Zm 9", "Zm9v\n"})
        EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

} // namespace
} // namespace ferry::util

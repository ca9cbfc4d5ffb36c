// log_escape: what client-supplied bytes look like in each access-log format.
#include "observe/log_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::observe {

namespace {
std::string json(std::string_view text) {
    std::string out;
    append_json_string(text, out);
    return out;
}
std::string nginx(std::string_view text) {
    std::string out;
    append_nginx_escaped(text, out);
    return out;
}
std::string url(std::string_view text) {
    std::string out;
    append_url_escaped(text, out);
    return out;
}
} // namespace

TEST(JsonString, KeepsPlainTextAndEscapesQuotesAndBackslashes) {
    EXPECT_EQ(json(""), R"("")");
    EXPECT_EQ(json("curl/8.0 (x86_64)"), R"j("curl/8.0 (x86_64)")j");
    EXPECT_EQ(json(R"(a"b\c)"), R"("a\"b\\c")");
    EXPECT_EQ(json("/a/b?c=d&e='f'"), R"("/a/b?c=d&e='f'")");
}

TEST(JsonString, EscapesEveryControlByteAndDelAsU00XX) {
    EXPECT_EQ(json(std::string("\0", 1)), R"("\u0000")");
    EXPECT_EQ(json("\t\r\n"), R"("\u0009\u000d\u000a")");
    EXPECT_EQ(json("\x1b[31m"), R"("\u001b[31m")");
    EXPECT_EQ(json("\x1f\x7f"), R"("\u001f\u007f")");
}

TEST(JsonString, KeepsValidUtf8) {
    EXPECT_EQ(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"");                                   // U+00E9
    EXPECT_EQ(json("\xe2\x82\xac"), "\"\xe2\x82\xac\"");                                 // U+20AC
    EXPECT_EQ(json("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");                         // U+1F600
    EXPECT_EQ(json("\xef\xbf\xbf\xf4\x8f\xbf\xbf"), "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\""); // edges
}

TEST(JsonString, ReplacesEachInvalidUtf8ByteWithReplacementCharacter) {
    EXPECT_EQ(json("\x80"), R"("\ufffd")");                               // lone continuation
    EXPECT_EQ(json("\xff\xfe"), R"("\ufffd\ufffd")");                     // never in UTF-8
    EXPECT_EQ(json("\xc0\xaf"), R"("\ufffd\ufffd")");                     // overlong '/'
    EXPECT_EQ(json("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");           // overlong, 3 bytes
    EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");           // surrogate U+D800
    EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")"); // above U+10FFFF
    EXPECT_EQ(json("a\xc3"), R"("a\ufffd")");                             // truncated at the end
    EXPECT_EQ(json("\xe2\x82x"), R"("\ufffd\ufffdx")");                   // truncated in the middle
    EXPECT_EQ(json("\xc3\xa9\xc3"), "\"\xc3\xa9\\ufffd\"");               // valid, then not
}

TEST(Utf8SequenceLength, MeasuresOnlyValidSequences) {
    EXPECT_EQ(utf8_sequence_length("a"), 1u);
    EXPECT_EQ(utf8_sequence_length("\xc2\x80"), 2u);
    EXPECT_EQ(utf8_sequence_length("\xc1\xbf"), 0u);
    EXPECT_EQ(utf8_sequence_length("\xe0\xa0\x80"), 3u);
    EXPECT_EQ(utf8_sequence_length("\xed\x9f\xbf"), 3u);
    EXPECT_EQ(utf8_sequence_length("\xf0\x90\x80\x80"), 4u);
    EXPECT_EQ(utf8_sequence_length("\xf5\x80\x80\x80"), 0u);
    EXPECT_EQ(utf8_sequence_length(""), 0u);
}

TEST(NginxEscape, EscapesQuotesBackslashesControlAndHighBytesAsBackslashX) {
    EXPECT_EQ(nginx("Mozilla/5.0 (X11)"), "Mozilla/5.0 (X11)");
    EXPECT_EQ(nginx(R"(say "hi" \o/)"), R"(say \x22hi\x22 \x5Co/)");
    EXPECT_EQ(nginx("a\tb\r\n\x7f"), R"(a\x09b\x0D\x0A\x7F)");
    EXPECT_EQ(nginx("caf\xc3\xa9"), R"(caf\xC3\xA9)");
}

TEST(UrlEscape, PercentEncodesSpaceControlAndHighBytes) {
    EXPECT_EQ(url("http://example.test/a?b=c%20d"), "http://example.test/a?b=c%20d");
    EXPECT_EQ(url("a b\t\"c\""), "a%20b%09\"c\"");
    EXPECT_EQ(url("\x7f\xff"), "%7F%FF");
}

TEST(ClientAddress, DropsThePort) {
    EXPECT_EQ(client_address("127.0.0.1:51234"), "127.0.0.1");
    EXPECT_EQ(client_address("[::1]:51234"), "::1");
    EXPECT_EQ(client_address("-"), "-");
}

} // namespace ferry::observe

// llhttp's parser test vectors (corpora/llhttp, release 9.4.2) as accept/reject vectors for
// ferry's own reading of a connection: head_scanner + head_parser + framing, and the body
// (Content-Length, chunked_decoder) so that pipelined messages are reached.
//
// Format (llhttp test/md-test.ts): a heading names the case, `<!-- meta={"type": ...} -->`
// says how llhttp is set up, a ```http block holds the input and a ```log block the
// expected events, ending in `error code=N reason="..."` when llhttp rejects. The input is
// decoded as md-test.ts does: drop the last newline, join lines ending in a backslash, every
// newline becomes CRLF, then the escapes \r \n \t \f become bytes and \xHH and \NNN (octal)
// code points in UTF-8.
//
// What is compared: llhttp (default flags, i.e. strict) accepts or rejects; ferry accepts or
// rejects. ferry may be stricter (bare LF, obs-fold, HTTP/0.9, RTSP/ICE, ...): each such case
// is listed in `ferry_is_stricter` with the reason ferry gives, so that a new difference is
// looked at rather than silently allowed. ferry accepting what llhttp rejects is a finding:
// listed in `known_findings` and skipped as a BUG until fixed.
//
// Subsets left out, and why:
//  - the files lenient-*.md, and every case whose type names a lenient flag
//    ("request-lenient-headers", "response-lenient-keep-alive", ...): their expected output
//    holds only with that llhttp leniency switched on, which is not ferry's behaviour. (Those
//    files hold a few strict-typed cases too, e.g. a control character in a header value;
//    head_parser_test.cpp covers those rules directly.)
//  - "request-finish" / "response-finish": they test the return code of llhttp_finish() on
//    deliberately incomplete input, not whether the bytes are acceptable.
//  - requests with "skipBody": the callback tells llhttp to skip a request body, which no
//    server does; for responses skipBody is what a response to HEAD means, and is kept.
//  - inputs with `${...}` (evaluated as JavaScript by md-test.ts): none in 9.4.2.
//
// How llhttp's errors are read:
//  - code 22 "Pause on CONNECT/Upgrade" is not a rejection: the head was accepted and the
//    connection changes protocol. ferry's model stops reading at that point too.
//  - code 5 "Data after Connection: close": the message was accepted; llhttp refuses bytes
//    after a message that closes the connection. ferry closes after such a message and never
//    reads those bytes, so this is an acceptance on both sides.
//  - code 23 "Pause on PRI/Upgrade" (the HTTP/2 preface) is a rejection: it is not HTTP/1.
//  - any other code is a rejection.
//
// How ferry reads the connection (as session.cpp and forward.cpp do): each head through a
// fresh head_scanner (both skip leading CRLFs), head_parser, framing;
// then the body; then the next message. Reading stops, accepting, where ferry stops reading:
// after a message that closes the connection (Connection: close, or HTTP/1.0 without
// keep-alive), after CONNECT, a request asking for an Upgrade or a 101 response (the bytes
// after are another protocol; whether ferry tunnels is the session's decision, not a parsing
// verdict), after a response read until close, or where the input ends before a message does
// (ferry waits for more).
//
// An input that ends inside a head is judged as if the head ended there (the last line and
// the head closed with CRLFs): ferry decides on complete heads only, and llhttp's vectors
// often stop right after the byte llhttp rejects ("GET / HTTP/5.6", no line end). Without
// that, ferry would only be waiting, which says nothing either way.
#include "http/chunked.h"
#include "http/framing.h"
#include "http/head_parser.h"
#include "http/head_scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferry::http {
namespace {

namespace fs = std::filesystem;

const fs::path corpus_dir = fs::path(FERRY_CORPORA_DIR) / "llhttp";

struct corpus_case {
    std::string key;  // "request/sample.md: Prefix newline" (#2, #3 for repeated titles)
    std::string name; // the same as a test name
    std::string type; // meta type
    bool request = true;
    bool skip_body = false;
    std::string input;
    std::optional<int> error_code; // llhttp's expected error, if any
    std::string error_reason;
    int line = 0; // of the ```http block
};

std::ostream& operator<<(std::ostream& os, const corpus_case& c) {
    return os << c.key;
}

struct corpus {
    bool present = false;
    std::vector<corpus_case> cases;
    std::map<std::string, int> excluded; // reason → how many cases
    std::vector<std::string> problems;   // blocks that could not be read
};

// --- reading the Markdown ---------------------------------------------------------------

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// `\x` + hex digits (greedy), or `\` + 1-3 octal digits: a code point, written in UTF-8 as
// md-test.ts writes its input (its log gives "\xffValue2" a length of 8).
bool replace_numeric_escapes(std::string& s, bool hex) {
    auto digit = [hex](char c) { return hex ? is_hex(c) : (c >= '0' && c <= '7'); };
    const std::size_t skip = hex ? 2 : 1; // "\x" or "\"
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const bool escape =
            s[i] == '\\' && i + skip < s.size() && (!hex || s[i + 1] == 'x') && digit(s[i + skip]);
        if (!escape) {
            out.push_back(s[i++]);
            continue;
        }
        std::size_t end = i + skip;
        while (end < s.size() && digit(s[end]) && (hex || end - (i + skip) < 3))
            ++end;
        auto v = std::stoul(s.substr(i + skip, end - (i + skip)), nullptr, hex ? 16 : 8);
        if (v < 0x80) {
            out.push_back(char(v));
        } else if (v < 0x800) {
            out.push_back(char(0xc0 | (v >> 6)));
            out.push_back(char(0x80 | (v & 0x3f)));
        } else {
            return false; // not used by the corpus
        }
        i = end;
    }
    s = std::move(out);
    return true;
}

std::optional<std::string> decode_input(const std::vector<std::string>& lines) {
    std::string s;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i) s += '\n';
        s += lines[i];
    }
    if (s.find("${") != std::string::npos) return std::nullopt;
    replace_all(s, "\\\n", "");
    replace_all(s, "\n", "\r\n");
    replace_all(s, "\\r", "\r");
    replace_all(s, "\\n", "\n");
    replace_all(s, "\\t", "\t");
    replace_all(s, "\\f", "\f");
    if (!replace_numeric_escapes(s, true) || !replace_numeric_escapes(s, false))
        return std::nullopt;
    return s;
}

std::string meta_string(const std::string& meta, std::string_view key) {
    auto at = meta.find("\"" + std::string(key) + "\"");
    if (at == std::string::npos) return {};
    auto open = meta.find('"', meta.find(':', at) + 1);
    auto close = meta.find('"', open + 1);
    if (open == std::string::npos || close == std::string::npos) return {};
    return meta.substr(open + 1, close - open - 1);
}

bool meta_true(const std::string& meta, std::string_view key) {
    auto at = meta.find("\"" + std::string(key) + "\"");
    if (at == std::string::npos) return false;
    auto value = meta.find_first_not_of(" :", at + key.size() + 2);
    return value != std::string::npos && meta.compare(value, 4, "true") == 0;
}

std::string test_name(std::string_view key) {
    std::string n;
    for (char c : key) {
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (word)
            n.push_back(c);
        else if (!n.empty() && n.back() != '_')
            n.push_back('_');
    }
    while (!n.empty() && n.back() == '_')
        n.pop_back();
    return n;
}

void read_file(const fs::path& path, const std::string& rel, corpus& out,
               std::map<std::string, int>& seen_keys) {
    std::ifstream in(path, std::ios::binary);
    std::string line, heading, meta;
    std::vector<std::string> http_lines, log_lines;
    int http_line = 0;
    enum { outside, in_http, in_log, in_other } state = outside;
    bool have_http = false;
    for (int number = 1; std::getline(in, line); ++number) {
        if (state == outside) {
            if (line.rfind("```http", 0) == 0) {
                state = in_http;
                http_lines.clear();
                http_line = number;
            } else if (line.rfind("```log", 0) == 0) {
                state = in_log;
                log_lines.clear();
            } else if (line.rfind("```", 0) == 0) {
                state = in_other;
            } else if (line.rfind("#", 0) == 0) {
                auto text = line.find_first_not_of("# ");
                heading = text == std::string::npos ? "" : line.substr(text);
            } else if (auto at = line.find("<!-- meta="); at != std::string::npos) {
                meta = line.substr(at + 10);
            }
            continue;
        }
        if (line.rfind("```", 0) != 0) {
            if (state == in_http) http_lines.push_back(line);
            if (state == in_log) log_lines.push_back(line);
            continue;
        }
        // The end of a block.
        if (state == in_http) have_http = true;
        if (state == in_log && have_http) {
            corpus_case c;
            std::string key = rel + ": " + heading;
            if (int n = ++seen_keys[key]; n > 1) key += " #" + std::to_string(n);
            c.key = key;
            c.name = test_name(key);
            c.type = meta_string(meta, "type");
            c.request = rel.rfind("request/", 0) == 0;
            c.skip_body = meta_true(meta, "skipBody");
            c.line = http_line;
            for (const auto& l : log_lines) {
                auto at = l.find(" error code=");
                if (at == std::string::npos) continue;
                c.error_code = std::atoi(l.c_str() + at + 12);
                auto r = l.find("reason=\"");
                if (r != std::string::npos) c.error_reason = l.substr(r + 8, l.size() - r - 9);
                break;
            }
            auto input = decode_input(http_lines);
            if (c.type.empty()) {
                out.problems.push_back(key + ": no type in meta");
            } else if (fs::path(rel).filename().string().rfind("lenient-", 0) == 0 ||
                       c.type.find("lenient") != std::string::npos) {
                ++out.excluded["a lenient llhttp flag"];
            } else if (c.type.ends_with("-finish")) {
                ++out.excluded["llhttp_finish() behaviour"];
            } else if (c.skip_body && c.request) {
                ++out.excluded["request body skipped by a callback"];
            } else if (!input) {
                ++out.excluded["input llhttp computes in JavaScript"];
            } else if (c.type != "request" && c.type != "response") {
                out.problems.push_back(key + ": unknown type " + c.type);
            } else if (c.request != (c.type == "request")) {
                out.problems.push_back(key + ": type does not match its folder");
            } else {
                c.input = std::move(*input);
                out.cases.push_back(std::move(c));
            }
            have_http = false;
            meta.clear();
        }
        state = outside;
    }
}

const corpus& load() {
    static const corpus all = [] {
        corpus c;
        if (!fs::is_directory(corpus_dir)) return c;
        c.present = true;
        std::map<std::string, int> seen_keys;
        for (const char* side : {"request", "response"}) {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(corpus_dir / side))
                if (e.path().extension() == ".md") files.push_back(e.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files)
                read_file(f, std::string(side) + "/" + f.filename().string(), c, seen_keys);
        }
        return c;
    }();
    return all;
}

std::vector<corpus_case> cases() {
    return load().cases;
}

// --- ferry's reading of a connection ----------------------------------------------------

struct verdict {
    bool rejected = false;
    std::string why;
    bool head_incomplete = false;
};

verdict accept(std::string why) {
    return {false, std::move(why)};
}
verdict reject(std::string why) {
    return {true, std::move(why)};
}
verdict head_incomplete() {
    return {false, "waits for the rest of the head", true};
}

std::string scan_name(scan_status s) {
    switch (s) {
    case scan_status::need_more:
        return "need_more";
    case scan_status::complete:
        return "complete";
    case scan_status::bare_lf:
        return "scanner: bare LF";
    case scan_status::head_too_large:
        return "scanner: head too large";
    case scan_status::line_too_long:
        return "scanner: start line too long";
    }
    return "scanner: ?";
}

// Takes the body framed by `f` from input[pos...]. Returns a verdict when reading stops.
std::optional<verdict> take_body(std::string_view input, std::size_t& pos, body_framing f) {
    switch (f.kind) {
    case body_kind::none:
        return std::nullopt;
    case body_kind::until_close:
        return accept("body read until close");
    case body_kind::length:
        if (input.size() - pos < f.length) return accept("waits for the rest of the body");
        pos += f.length;
        return std::nullopt;
    case body_kind::chunked: {
        chunked_decoder d;
        while (pos < input.size() && !d.done() && !d.failed())
            pos += d.decode(input.substr(pos)).consumed;
        if (d.failed()) return reject("chunked: " + std::string(describe(d.error())));
        if (!d.done()) return accept("waits for the rest of the chunked body");
        return std::nullopt;
    }
    }
    return reject("unknown body kind");
}

verdict read_requests(std::string_view input) {
    std::size_t pos = 0;
    request_head req;
    while (pos < input.size()) {
        head_scanner scanner(64 * 1024, 8 * 1024 + 64, true);
        auto r = scanner.scan(input.substr(pos));
        if (r.status == scan_status::need_more) return head_incomplete();
        if (r.status != scan_status::complete) return reject(scan_name(r.status));
        auto head = input.substr(pos + scanner.head_begin(), r.head_end - scanner.head_begin());
        if (auto e = parse_request_head(head, 8 * 1024, req); e != parse_error::none)
            return reject("parser: " + std::string(describe(e)));
        body_framing f;
        if (auto e = request_framing(req, f); e != framing_error::none)
            return reject("framing: " + std::string(describe(e)));
        pos += r.head_end;
        if (req.method == "CONNECT") return accept("CONNECT: a tunnel follows");
        if (auto v = take_body(input, pos, f)) return *v;
        if (has_option(req, "connection", "upgrade") && count_fields(req, "upgrade") > 0)
            return accept("Upgrade: another protocol follows");
        const bool close = has_option(req, "connection", "close") ||
                           (req.minor == 0 && !has_option(req, "connection", "keep-alive") &&
                            !has_option(req, "proxy-connection", "keep-alive"));
        if (close) return accept("the connection closes after this request");
    }
    return accept("complete");
}

verdict read_responses(std::string_view input, std::string_view method) {
    std::size_t pos = 0;
    response_head resp;
    while (pos < input.size()) {
        head_scanner scanner(64 * 1024, 64 * 1024, true);
        auto r = scanner.scan(input.substr(pos));
        if (r.status == scan_status::need_more) return head_incomplete();
        if (r.status != scan_status::complete) return reject(scan_name(r.status));
        const auto begin = scanner.head_begin();
        if (auto e = parse_response_head(input.substr(pos + begin, r.head_end - begin), resp);
            e != parse_error::none)
            return reject("parser: " + std::string(describe(e)));
        body_framing f;
        if (auto e = response_framing(resp, method, f); e != framing_error::none)
            return reject("framing: " + std::string(describe(e)));
        pos += r.head_end;
        if (resp.status == 101) return accept("101: another protocol follows");
        if (resp.status < 200) continue; // interim: the final response follows
        if (auto v = take_body(input, pos, f)) return *v;
        const bool close = has_option(resp, "connection", "close") ||
                           (resp.minor == 0 && !has_option(resp, "connection", "keep-alive"));
        if (close) return accept("the connection closes after this response");
    }
    return accept("complete");
}

verdict ferry_reads(const corpus_case& c) {
    auto read = [&c](std::string_view in) {
        return c.request ? read_requests(in) : read_responses(in, c.skip_body ? "HEAD" : "GET");
    };
    auto v = read(c.input);
    if (!v.head_incomplete) return v;
    std::string_view in = c.input;
    std::string ended = c.input + (in.ends_with("\r\n") ? "\r\n"
                                   : in.ends_with("\r") ? "\n\r\n"
                                                        : "\r\n\r\n");
    v = read(ended);
    v.why = "once the head is ended: " + v.why;
    return v;
}

bool llhttp_rejects(const corpus_case& c) {
    if (!c.error_code) return false;
    return *c.error_code != 22 && *c.error_code != 5;
}

// --- known differences ------------------------------------------------------------------

// Cases llhttp accepts and ferry rejects on purpose, with (part of) the reason ferry gives.
const std::map<std::string, std::string, std::less<>> ferry_is_stricter = {
    // Not HTTP/1.x: ferry is an HTTP proxy, not an RTSP/ICE/HTTP/0.9 one.
    {"request/method.md: SOURCE request with ICE", "malformed HTTP version"},
    {"request/method.md: OPTIONS request with RTSP", "malformed HTTP version"},
    {"request/method.md: ANNOUNCE request with RTSP", "malformed HTTP version"},
    {"request/sample.md: No HTTP version", "malformed start line"},
    {"response/sample.md: RTSP response", "malformed HTTP version"},
    {"response/sample.md: ICE response", "malformed start line"},
    {"response/sample.md: HTTP version 0.9", "HTTP version not supported"},
    // A coding ferry does not implement before chunked → 501 (RFC 9112 §6.1).
    {"request/transfer-encoding.md: POST with `chunked` as last transfer-encoding",
     "unsupported transfer coding"},
    {"request/transfer-encoding.md: POST with `chunked` as last transfer-encoding (multiple "
     "headers)",
     "unsupported transfer coding"},
    // RFC 9112 §6.3 item 4 lets a client read a response whose Transfer-Encoding does not end
    // in chunked until close; ferry, which re-frames bodies, refuses it as ambiguous.
    {"response/transfer-encoding.md: `chunked` before other transfer-encoding",
     "does not end in chunked"},
    {"response/transfer-encoding.md: multiple transfer-encoding where chunked is not the last one",
     "does not end in chunked"},
    {"response/transfer-encoding.md: `chunkedchunked` transfer-encoding does not enable chunked "
     "enconding",
     "does not end in chunked"},
};

// Cases llhttp rejects and ferry accepts, rightly: llhttp knows a fixed list of methods, but
// any token is a method (RFC 9110 §9.1) and a proxy forwards methods it does not know.
const std::map<std::string, std::string, std::less<>> llhttp_is_stricter = {
    {"request/invalid.md: HTTP protocol and ANNOUNCE method", "extension method"},
    {"request/invalid.md: Invalid method", "extension method"},
};

// Cases llhttp (strict) rejects and ferry accepts wrongly: findings, skipped until fixed.
const std::map<std::string, std::string, std::less<>> known_findings = {};

// --- the tests --------------------------------------------------------------------------

class LlhttpCorpus : public testing::TestWithParam<corpus_case> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LlhttpCorpus);

TEST_P(LlhttpCorpus, FerryAgreesOrIsStricter) {
    const auto& c = GetParam();
    if (auto f = known_findings.find(c.key); f != known_findings.end())
        GTEST_SKIP() << "BUG: " << f->second;
    const auto v = ferry_reads(c);
    const bool llhttp_no = llhttp_rejects(c);
    const std::string where =
        c.key + " (line " + std::to_string(c.line) +
        ")\ninput: " + testing::PrintToString(c.input) + "\nllhttp: " +
        (c.error_code ? "error " + std::to_string(*c.error_code) + " " + c.error_reason
                      : std::string("accepted")) +
        "\nferry: " + (v.rejected ? "rejected, " : "accepted, ") + v.why;
    auto stricter = ferry_is_stricter.find(c.key);
    if (llhttp_no && llhttp_is_stricter.count(c.key)) {
        EXPECT_FALSE(v.rejected) << "listed in llhttp_is_stricter, but ferry rejects: " << where;
    } else if (llhttp_no) {
        EXPECT_TRUE(v.rejected) << "ferry accepts what llhttp's strict mode rejects: " << where;
    } else if (v.rejected) {
        ASSERT_NE(stricter, ferry_is_stricter.end())
            << "ferry rejects what llhttp accepts; if that is deliberate, list it in "
               "ferry_is_stricter with the reason: "
            << where;
        EXPECT_NE(v.why.find(stricter->second), std::string::npos)
            << "ferry rejects for another reason than the one listed (" << stricter->second
            << "): " << where;
    } else {
        EXPECT_EQ(stricter, ferry_is_stricter.end())
            << "listed in ferry_is_stricter, but ferry accepts: " << where;
    }
}

INSTANTIATE_TEST_SUITE_P(Vectors, LlhttpCorpus, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<corpus_case>& info) {
                             return info.param.name;
                         });

TEST(LlhttpCorpusFiles, AreReadCompletely) {
    const auto& c = load();
    ASSERT_TRUE(c.present) << "llhttp corpus not found at " << corpus_dir;
    EXPECT_TRUE(c.problems.empty()) << testing::PrintToString(c.problems);
    // 246 cases in llhttp 9.4.2; most are kept.
    int excluded = 0;
    for (const auto& [why, n] : c.excluded)
        excluded += n;
    EXPECT_GE(c.cases.size(), 180u);
    EXPECT_GE(int(c.cases.size()) + excluded, 240);
    std::map<std::string, int> per_file;
    for (const auto& k : c.cases)
        ++per_file[k.key.substr(0, k.key.find(':'))];
    for (const auto& f : {"request/sample.md", "request/transfer-encoding.md", "request/invalid.md",
                          "response/sample.md", "response/transfer-encoding.md"})
        EXPECT_GT(per_file[f], 0) << f;
    int rejecting = 0;
    for (const auto& k : c.cases)
        rejecting += llhttp_rejects(k);
    EXPECT_GT(rejecting, 30); // the reject side is really exercised
}

TEST(LlhttpCorpusFiles, ListedCasesExist) {
    const auto& c = load();
    ASSERT_TRUE(c.present) << "llhttp corpus not found at " << corpus_dir;
    auto exists = [&](const std::string& key) {
        return std::any_of(c.cases.begin(), c.cases.end(),
                           [&](const corpus_case& k) { return k.key == key; });
    };
    for (const auto& [key, why] : ferry_is_stricter)
        EXPECT_TRUE(exists(key)) << key;
    for (const auto& [key, why] : known_findings)
        EXPECT_TRUE(exists(key)) << key;
    for (const auto& [key, why] : llhttp_is_stricter)
        EXPECT_TRUE(exists(key)) << key;
}

TEST(LlhttpCorpusFiles, InputsAreDecodedLikeLlhttp) {
    const auto& c = load();
    ASSERT_TRUE(c.present) << "llhttp corpus not found at " << corpus_dir;
    auto find = [&](std::string_view key) -> const corpus_case* {
        for (const auto& k : c.cases)
            if (k.key == key) return &k;
        return nullptr;
    };
    // Offsets in llhttp's logs pin the decoding down: "headers complete" at 61, and
    // "\xffValue2" has a length of 8: U+00FF in UTF-8.
    auto k = find("request/sample.md: 255 ASCII in header value");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->input,
              "OPTIONS /url HTTP/1.1\r\nHeader1: Value1\r\nHeader2: \xc3\xbfValue2\r\n\r\n");
    EXPECT_EQ(k->input.size(), 61u);
    // "\n" is a bare LF; a line ending in a backslash is joined to the next one.
    k = find("request/invalid.md: Headers separated by LF");
    ASSERT_NE(k, nullptr);
    EXPECT_NE(k->input.find("\r\nx:x\nTransfer-Encoding: chunked\r\n"), std::string::npos);
    k = find("request/invalid.md: Only LFs present");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->input.rfind("POST / HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\r\n"
                             "Foo: abc\n",
                             0),
              0u);
    // Octal escapes: "Foo\01\test" is Foo, U+0001, a tab, est.
    k = find("request/invalid.md: Invalid header token #2");
    ASSERT_NE(k, nullptr);
    EXPECT_NE(k->input.find("\r\nFoo\x01\test: Bar\r\n"), std::string::npos);
}

} // namespace
} // namespace ferry::http

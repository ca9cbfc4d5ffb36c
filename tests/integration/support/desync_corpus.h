// The desync-guardian request-head corpus (tests/corpora/desync-guardian, format in its
// README.md), loaded with yaml-cpp. "\xHH" escapes inside double-quoted YAML strings become
// the raw byte HH (yaml-cpp alone would turn \xA0 into the UTF-8 of U+00A0); literal UTF-8
// in the files stays UTF-8.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ferry_test {

struct desync_case {
    std::string file;   // "severe" for severe.yaml
    std::string name;   // the case's own description
    std::string method; // raw bytes
    std::string uri;
    std::string version; // "" for HTTP/0.9
    std::vector<std::pair<std::string, std::string>> headers;
    std::string tier;      // Compliant, Acceptable, Ambiguous, Severe
    std::string reason;    // the corpus's reason, e.g. BothTeClPresent
    std::string test_name; // file + "_" + name, reduced to [A-Za-z0-9_], unique
};

// Every case of every *.yaml file in `dir`, files in name order, cases in file order.
// Throws std::runtime_error when a file cannot be read or parsed.
std::vector<desync_case> load_desync_corpus(const std::string& dir);

// The double-quoted-string escapes \xHH with HH >= 80 rewritten as \uE0HH (exposed for
// its own test).
std::string protect_high_byte_escapes(std::string_view yaml);
// U+E080..U+E0FF (as UTF-8) turned back into the single bytes 80..FF.
std::string restore_high_bytes(std::string_view text);

} // namespace ferry_test

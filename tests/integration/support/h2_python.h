// The HTTP/2 probe of issue 15's framing and attack tests: tests/integration/h2/h2probe.py, a
// client on Debian's python3-h2 (and its python3-hpack) that writes frames byte by byte, run
// against the real ferry. Its output is lines of words, some of them `key=value`.
#pragma once

#include "support/command.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace ferry_test {

// Whether Debian's /usr/bin/python3 can import h2 and hpack (package python3-h2).
bool python_h2_installed();

// Runs h2probe.py with `args` (options, then HOST:PORT AUTHORITY CASE ARG...), killed after
// `limit`.
command_result run_h2probe(const std::vector<std::string>& args,
                           std::chrono::milliseconds limit = std::chrono::seconds(30));

// The first line of `out` that starts with `prefix` ("" when none does).
std::string line_starting(const std::string& out, const std::string& prefix);

// The `key=value` words of `line`, by key.
std::map<std::string, std::string> line_words(const std::string& line);

// One line per sub-case, "NAME REST...": REST by NAME.
std::map<std::string, std::string> outcomes_by_name(const std::string& out);

} // namespace ferry_test

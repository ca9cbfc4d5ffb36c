// Finding ferry's log lines (access log, flow log) in what it printed.
#pragma once

#include "support/ferry_process.h"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace ferry_test {

// The complete lines of `text` (a last line without its newline is left out).
std::vector<std::string> lines_of(std::string_view text);

// Waits until ferry's stdout has a complete line containing every one of `needles`, and
// returns it ("" after `timeout`).
std::string wait_for_line(const ferry_process& ferry, const std::vector<std::string>& needles,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The same, in a file ferry writes (--access-log PATH).
std::string wait_for_line_in_file(const std::string& path, const std::vector<std::string>& needles,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Reads a whole file ("" when it cannot be read).
std::string read_file(const std::string& path);

} // namespace ferry_test

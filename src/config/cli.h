// The command line: `ferry [PORT] [--listen HOST:PORT]... [options]`.
#pragma once

#include "config/settings.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::config {

struct cli_result {
    std::optional<settings> parsed; // empty: exit with exit_code (help, version, error)
    int exit_code = 0;
};

cli_result parse_command_line(int argc, char** argv);

// "443,8443" or "any" (an empty list); false when malformed.
bool parse_port_list(std::string_view text, std::vector<std::uint16_t>& out);

// "HOST:PORT", "[v6]:PORT" or "PORT"; false when malformed.
bool parse_listen_address(std::string_view text, listen_address& out);

} // namespace ferry::config

// The command line: `ferry [PORT] [--listen HOST:PORT]... [options]`, driven by the options
// registry (config/options.h). Every usage error is one line, "ferry: ...", and exit status 2.
#pragma once

#include "config/settings.h"
#include "config/values.h"

#include <optional>

namespace ferry::config {

struct cli_result {
    std::optional<settings> parsed; // empty: exit with exit_code (help, version, error)
    int exit_code = 0;
};

cli_result parse_command_line(int argc, char** argv);

} // namespace ferry::config

// The command line: `ferry [PORT] [--listen HOST:PORT]... [options]`, driven by the options
// registry (config/options.h), and the subcommand `ferry explain [--client IP] [--user U]
// [--method M] [options] URL|host:port`. Every usage error is one line, "ferry: ...", and
// exit status 2.
#pragma once

#include "config/settings.h"
#include "config/values.h"

#include <optional>

namespace ferry::config {

// `ferry explain`'s own arguments (app/explain.h judges them against the settings).
struct explain_command {
    std::string target; // URL or host:port
    std::string client = "127.0.0.1";
    std::optional<std::string> user;
    std::string method; // "": GET, or CONNECT for host:port
};

struct cli_result {
    std::optional<settings> parsed; // empty: exit with exit_code (help, version, error)
    int exit_code = 0;
    std::optional<explain_command> explain; // `ferry explain`: what to explain
};

cli_result parse_command_line(int argc, char** argv);

} // namespace ferry::config

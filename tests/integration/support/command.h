// Runs the ferry binary to completion (for --help, --version, bad arguments), with a bound.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ferry_test {

struct command_result {
    int status = -1; // as from waitpid (WIFEXITED/WEXITSTATUS); -1 when killed at the timeout
    std::string out;
    std::string err;

    bool exited() const;
    int exit_code() const; // -1 unless it exited by itself
};

// Runs `ferry <args>` (no port added) and waits for it to exit; kills it after `timeout`.
command_result run_ferry(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs a program (`argv[0]` a full path, or a name looked up in PATH) to completion the same
// way, killed after `timeout`.
command_result run_program(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The standard output of a shell command, trailing newlines removed; "" when it failed.
std::string shell_output(const std::string& command);

} // namespace ferry_test

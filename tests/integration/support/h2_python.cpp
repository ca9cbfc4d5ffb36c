#include "support/h2_python.h"

#include <sstream>

namespace ferry_test {

namespace {
constexpr const char* python = "/usr/bin/python3";
const std::string probe = std::string(FERRY_SOURCE_DIR) + "/tests/integration/h2/h2probe.py";
} // namespace

bool python_h2_installed() {
    return shell_output(std::string(python) +
                        " -c 'import h2.connection, hpack' 2>/dev/null && echo yes") == "yes";
}

command_result run_h2probe(const std::vector<std::string>& args, std::chrono::milliseconds limit) {
    std::vector<std::string> argv{python, probe};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, limit);
}

std::string line_starting(const std::string& out, const std::string& prefix) {
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix)) return line;
    return {};
}

std::map<std::string, std::string> line_words(const std::string& line) {
    std::map<std::string, std::string> words;
    std::istringstream in(line);
    for (std::string word; in >> word;) {
        const auto eq = word.find('=');
        if (eq != std::string::npos) words[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return words;
}

std::map<std::string, std::string> outcomes_by_name(const std::string& out) {
    std::map<std::string, std::string> outcomes;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        const auto space = line.find(' ');
        if (space != std::string::npos) outcomes[line.substr(0, space)] = line.substr(space + 1);
    }
    return outcomes;
}

} // namespace ferry_test

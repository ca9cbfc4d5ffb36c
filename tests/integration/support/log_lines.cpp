#include "support/log_lines.h"

#include <fstream>
#include <sstream>
#include <thread>

namespace ferry_test {

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    for (auto eol = text.find('\n'); eol != std::string_view::npos; eol = text.find('\n')) {
        lines.emplace_back(text.substr(0, eol));
        text.remove_prefix(eol + 1);
    }
    return lines;
}

namespace {

template <class Source>
std::string wait_for(Source source, const std::vector<std::string>& needles,
                     std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        for (const auto& line : lines_of(source())) {
            bool all = true;
            for (const auto& n : needles)
                all = all && line.find(n) != std::string::npos;
            if (all) return line;
        }
        if (std::chrono::steady_clock::now() >= deadline) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace

std::string wait_for_line(const ferry_process& ferry, const std::vector<std::string>& needles,
                          std::chrono::milliseconds timeout) {
    return wait_for([&] { return ferry.out(); }, needles, timeout);
}

std::string wait_for_line_in_file(const std::string& path, const std::vector<std::string>& needles,
                                  std::chrono::milliseconds timeout) {
    return wait_for([&] { return read_file(path); }, needles, timeout);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}

} // namespace ferry_test

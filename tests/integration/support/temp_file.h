// A file with the given text under the test's temporary directory, removed when the object
// goes (e.g. a configuration for --config or --check-config).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

namespace ferry_test {

class temp_file {
public:
    explicit temp_file(const std::string& text) {
        std::string pattern = ::testing::TempDir() + "ferry-test-XXXXXX";
        const int fd = ::mkstemp(pattern.data());
        if (fd >= 0) {
            path_ = pattern;
            ::close(fd);
            std::ofstream(path_) << text;
        }
    }
    ~temp_file() {
        if (!path_.empty()) std::remove(path_.c_str());
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

} // namespace ferry_test

// Shared check for the error enums of src/http: every value from `first` to `last` has a
// description of its own.
#pragma once

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace ferry::http {

template <class Error>
void expect_distinct_descriptions(Error first, Error last) {
    std::vector<std::string> seen;
    for (int i = int(first); i <= int(last); ++i) {
        std::string d(describe(Error(i)));
        EXPECT_NE(d, "unknown error") << i;
        for (const auto& s : seen)
            EXPECT_NE(d, s) << i;
        seen.push_back(d);
    }
}

} // namespace ferry::http

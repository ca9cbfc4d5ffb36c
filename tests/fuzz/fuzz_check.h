// Invariant checks for the fuzz targets: a failed check aborts, which libFuzzer reports as a
// crash and saves the input that caused it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

namespace ferry::fuzz {

// Reads the fuzzer's bytes front to back: control bytes first, the rest as data.
class input {
public:
    input(const std::uint8_t* data, std::size_t size)
        : rest_(reinterpret_cast<const char*>(data), size) {}

    // One control byte, 0 when the input is used up.
    std::uint8_t byte() {
        if (rest_.empty()) return 0;
        auto b = static_cast<std::uint8_t>(rest_.front());
        rest_.remove_prefix(1);
        return b;
    }

    // Everything up to the next `separator` (dropped), or the rest.
    std::string_view until(std::string_view separator) {
        auto at = rest_.find(separator);
        if (at == std::string_view::npos) return rest();
        auto part = rest_.substr(0, at);
        rest_.remove_prefix(at + separator.size());
        return part;
    }

    std::string_view rest() {
        auto all = rest_;
        rest_ = {};
        return all;
    }

private:
    std::string_view rest_;
};

} // namespace ferry::fuzz

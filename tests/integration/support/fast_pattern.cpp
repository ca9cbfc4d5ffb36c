// These loops touch gigabytes; they are optimised even in the Debug build (the result is
// checked against the byte-wise helpers by the tests that use them).
#pragma GCC optimize("O2")

#include "support/fast_pattern.h"

#include <cstring>
#include <vector>

namespace ferry_test {

namespace {

// Word w of the pattern: its 8 bytes, little-endian, are bytes 8w..8w+7 (see pattern_byte).
std::uint64_t pattern_word(std::uint64_t w, std::uint64_t seed) {
    std::uint64_t x = (w + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return x;
}

} // namespace

void fill_pattern(std::uint64_t offset, char* out, std::size_t n, std::uint64_t seed) {
    std::size_t i = 0;
    while (i < n && (offset + i) % 8 != 0) {
        out[i] = pattern_byte(offset + i, seed);
        ++i;
    }
    for (; i + 8 <= n; i += 8) {
        std::uint64_t x = pattern_word((offset + i) / 8, seed);
        unsigned char bytes[8];
        for (int b = 0; b < 8; ++b)
            bytes[b] = static_cast<unsigned char>(x >> (b * 8));
        std::memcpy(out + i, bytes, 8);
    }
    for (; i < n; ++i)
        out[i] = pattern_byte(offset + i, seed);
}

void fnv1a_update(fnv1a& h, const char* p, std::size_t n) {
    std::uint64_t v = h.h;
    for (std::size_t i = 0; i < n; ++i) {
        v ^= static_cast<unsigned char>(p[i]);
        v *= 1099511628211ull;
    }
    h.h = v;
}

std::uint64_t hash_pattern_fast(std::uint64_t n, std::uint64_t seed) {
    fnv1a h;
    std::vector<char> buf(1 << 20);
    for (std::uint64_t i = 0; i < n;) {
        std::size_t k = std::size_t(std::min<std::uint64_t>(buf.size(), n - i));
        fill_pattern(i, buf.data(), k, seed);
        fnv1a_update(h, buf.data(), k);
        i += k;
    }
    return h.h;
}

} // namespace ferry_test

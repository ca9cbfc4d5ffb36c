// The pattern bytes of socket_io.h, produced and hashed a word at a time, for bodies of
// gigabytes: the Debug build compiles the tests without optimisation, where the byte-wise
// helpers would take longer than the transfer they check.
#pragma once

#include "support/socket_io.h"

#include <cstddef>
#include <cstdint>

namespace ferry_test {

// Bytes [offset, offset + n) of pattern(…, seed): the same as pattern_byte(offset + i, seed).
void fill_pattern(std::uint64_t offset, char* out, std::size_t n, std::uint64_t seed = 1);

// fnv1a of pattern(n, seed), the same value as hash_pattern(n, seed).
std::uint64_t hash_pattern_fast(std::uint64_t n, std::uint64_t seed = 1);

// fnv1a over more bytes, the same as fnv1a::update, faster.
void fnv1a_update(fnv1a& h, const char* p, std::size_t n);

} // namespace ferry_test

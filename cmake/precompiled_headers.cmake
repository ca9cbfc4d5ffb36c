# Precompiled headers (FERRY_PCH, on by default): the heavy third-party headers that nearly every
# translation unit parses — Boost.Asio with its coroutine support, fmt, OpenSSL, gtest — are
# parsed once per target instead of once per file. Under the sanitizers at -O0 parsing is most
# of a file's compile time (src/proxy/exchange.cpp: 64 % of its CPU in GCC's parsing phase).
# Only headers of libraries, never ferry's own (src/*.h change with every commit and would
# rebuild every file); no file of ferry defines a macro before its includes, so one header set
# per target is safe. Every source still includes what it uses: configure with
# -DFERRY_PCH=OFF to check that a file compiles on its own.
option(FERRY_PCH "Precompile the heavy library headers (Boost.Asio, fmt, OpenSSL, gtest)" ON)

# What ferry_core's files include most (Boost.Asio in about half of them, fmt in most).
set(FERRY_PCH_CORE
    <algorithm> <array> <atomic> <chrono> <cstdint> <functional> <memory> <optional> <span>
    <string> <string_view> <unordered_map> <vector>
    <fmt/format.h>
    <boost/asio/as_tuple.hpp> <boost/asio/awaitable.hpp> <boost/asio/buffer.hpp>
    <boost/asio/co_spawn.hpp> <boost/asio/detached.hpp>
    <boost/asio/experimental/awaitable_operators.hpp> <boost/asio/io_context.hpp>
    <boost/asio/ip/address.hpp> <boost/asio/ip/tcp.hpp> <boost/asio/steady_timer.hpp>
    <boost/asio/use_awaitable.hpp> <boost/asio/write.hpp>
    <openssl/err.h> <openssl/evp.h> <openssl/ssl.h>)

# The integration tests: gtest, fmt and the standard library (they drive ferry as a process
# and use Boost only in two files).
set(FERRY_PCH_INTEGRATION
    <algorithm> <atomic> <chrono> <filesystem> <fstream> <map> <memory> <mutex> <regex> <set>
    <sstream> <string> <string_view> <thread> <vector>
    <fmt/format.h> <gtest/gtest.h>)

# ferry_pch(TARGET HEADERS...): precompile HEADERS for TARGET's C++ files.
# -Winvalid-pch (an error under -Werror): GCC otherwise ignores a precompiled header whose
# flags do not match the file's and parses the headers again, silently slow.
function(ferry_pch target)
  if(FERRY_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
    target_compile_options(${target} PRIVATE -Winvalid-pch)
  endif()
endfunction()

# ferry_pch_reuse(TARGET FROM): TARGET's files use FROM's precompiled header (same flags).
function(ferry_pch_reuse target from)
  if(FERRY_PCH)
    target_precompile_headers(${target} REUSE_FROM ${from})
    target_compile_options(${target} PRIVATE -Winvalid-pch)
  endif()
endfunction()

# The sanitizer build's executables, made cheap to start and to link (CI's 30-minute budget).
# Measured on the ASan + UBSan build (GCC 12, Debian 12), CPU time (user + sys):
#   start of ferry_integration_tests  0.69 s as PIE, 0.47 s with -no-pie (per test: ~880 tests)
#   start of ferry                    0.32 s as PIE, 0.19 s with -no-pie (one or more per test)
#   link of ferry_integration_tests   7.4 s with ld.bfd, 3.0 s with ld.gold, 2.6 s with ld.lld
# Nothing the tests check depends on PIE (address-space randomisation of the executable
# itself); the sanitizers work the same on a fixed-address executable.
include(CheckLinkerFlag)

function(ferry_fast_test_executables)
  check_linker_flag(CXX -no-pie FERRY_HAVE_NO_PIE)
  if(FERRY_HAVE_NO_PIE)
    add_link_options(-no-pie)
  endif()
  # gold comes with binutils (always there with GCC on Debian); lld only when installed.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    check_linker_flag(CXX -fuse-ld=gold FERRY_HAVE_GOLD)
    if(FERRY_HAVE_GOLD)
      add_link_options(-fuse-ld=gold)
    endif()
  endif()
endfunction()

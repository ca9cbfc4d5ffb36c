# Run by ferry_integration_tests' POST_BUILD step (cmake -P): one ctest test per
# value-parameterized suite (TEST_P: "DesyncCorpus", "MalformedRequestHead", ...), written to
# OUT and read by ctest through TEST_INCLUDE_FILES. gtest_discover_tests adds every other test
# one process each, as before; its TEST_FILTER "-*/*" leaves the parameterized ones to this.
#
# Why: a parameterized suite is one test body over a table of cases (444 of the 843
# integration tests). A process per case starts the ASan-built test binary each time (~0.5 s
# of CPU) and, for a suite that shares one ferry through SetUpTestSuite (DesyncCorpus,
# TransferEncodingDisguise), a ferry each time too. Measured (CPU, user + sys): DesyncCorpus
# 0.95 s per case one process each, 5.3 s for all 159 cases in one; MalformedRequestHead
# 0.96 s per case, 0.37 s per case in one process. A failing suite's output names the case.
#
# Inputs: -DBINARY= the test binary, -DOUT= the file to write, -DWORKDIR= the tests' working
# directory, -DTIMEOUT= seconds for one suite.
execute_process(COMMAND "${BINARY}" --gtest_list_tests OUTPUT_VARIABLE listing
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${BINARY} --gtest_list_tests failed (${status})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(suite "")
set(counts "")
foreach(line IN LISTS lines)
  # A suite's line starts at column 0 ("Prefix/Suite." or "Suite."); its tests follow,
  # indented, a parameterized one as "  Name/3  # GetParam() = ..." (a typed test's suite
  # line carries "# TypeParam" instead: those stay one test each).
  if(line MATCHES "^([^ #][^ ]*)\\.")
    set(suite "${CMAKE_MATCH_1}")
  elseif(suite AND line MATCHES "^  [^ ]+/[^ ]+  # GetParam\\(\\)" AND NOT suite MATCHES "^DISABLED_")
    list(FIND counts "${suite}" at)
    if(at EQUAL -1)
      list(APPEND counts "${suite}")
      set(count_${suite} 0)
    endif()
    math(EXPR count_${suite} "${count_${suite}} + 1")
  endif()
endforeach()

set(out "")
foreach(suite IN LISTS counts)
  # COST: the longest suites start first (after the fuzzers), not at the tail of the run.
  string(APPEND out "add_test([==[${suite}]==] [==[${BINARY}]==] "
                    "[==[--gtest_filter=${suite}.*]==])\n"
                    "set_tests_properties([==[${suite}]==] PROPERTIES TIMEOUT ${TIMEOUT} "
                    "COST ${count_${suite}} WORKING_DIRECTORY [==[${WORKDIR}]==] "
                    "LABELS parameterized)\n")
endforeach()
file(WRITE "${OUT}" "${out}")

# Run by ferry_unit_tests' POST_BUILD step: one ctest test per unit-test suite, written to OUT
# (read by ctest through TEST_INCLUDE_FILES). A process per test, as gtest_discover_tests
# makes, costs ~0.5 s of start-up under the sanitizers: ~870 unit tests were ~7 minutes of
# CPU, most of it starting the binary. A failing suite's output names the failed tests.
execute_process(COMMAND "${BINARY}" --gtest_list_tests OUTPUT_VARIABLE listing
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${BINARY} --gtest_list_tests failed (${status})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(out "")
foreach(line IN LISTS lines)
  # A suite's line starts at column 0 and ends its name with "." ("FlowRing.",
  # "Inputs/HeadScannerSplit.  # TypeParam ..."); its tests follow, indented.
  if(line MATCHES "^([^ #][^ ]*)\\.")
    set(suite "${CMAKE_MATCH_1}")
    string(APPEND out "add_test([==[unit.${suite}]==] [==[${BINARY}]==] "
                      "[==[--gtest_filter=${suite}.*]==])\n"
                      "set_tests_properties([==[unit.${suite}]==] PROPERTIES TIMEOUT 300 "
                      "WORKING_DIRECTORY [==[${WORKDIR}]==] LABELS unit)\n")
  endif()
endforeach()
file(WRITE "${OUT}" "${out}")

# A cmocka skip() makes a test program exit 0, so ctest counts it as passed
# and scripts/test cannot see it.  No C test may call it: a test whose
# precondition is missing fails and says what is missing.
#   cmake -DDIR=<tests/> -P no_cmocka_skip.cmake
file(GLOB_RECURSE _srcs "${DIR}/*.c")
set(_bad "")
foreach(f IN LISTS _srcs)
  file(STRINGS "${f}" _lines REGEX "(^|[^A-Za-z0-9_])skip[ \t]*\\([ \t]*\\)")
  foreach(l IN LISTS _lines)
    string(APPEND _bad "${f}: ${l}\n")
  endforeach()
endforeach()
list(LENGTH _srcs _n)
if(_n EQUAL 0)
  message(FATAL_ERROR "no C test sources under ${DIR}")
endif()
if(_bad)
  message(FATAL_ERROR "cmocka skip() in tests (a skipped test passes silently):\n${_bad}")
endif()
message(STATUS "${_n} C test sources, none calls skip()")

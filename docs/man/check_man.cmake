# Fails unless `mandoc -T lint -W warning` prints nothing for every page of
# PAGES (a ;-list): no warning, no error.  An empty MANDOC (not found at
# configure time) is a failure, not a skip.
#   cmake -DMANDOC=/usr/bin/mandoc -DPAGES=a.1;b.5 -P check_man.cmake
cmake_policy(VERSION 3.25)
if(NOT MANDOC)
  message(FATAL_ERROR "mandoc not installed (apt-get install mandoc), so the manual pages "
                      "cannot be checked; install it and re-run cmake")
endif()
set(failed "")
set(count 0)
foreach(page IN LISTS PAGES)
  if(NOT EXISTS "${page}")
    list(APPEND failed "${page}: missing")
    continue()
  endif()
  execute_process(COMMAND "${MANDOC}" -T lint -W warning "${page}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
    list(APPEND failed "${page} (mandoc exit ${rc}):\n${out}${err}")
  endif()
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  list(APPEND failed "no pages given")
endif()
if(failed)
  string(REPLACE ";" "\n" failed "${failed}")
  message(FATAL_ERROR "mandoc -T lint -W warning:\n${failed}")
endif()
message(STATUS "mandoc -T lint -W warning: ${count} pages clean")

# One golden comparison for `misdirect explain` (registered by CMakeLists.txt
# next to this file).  Never rewrites a golden file: see regenerate.cmake.
#
#   TOOL       the misdirect executable
#   TESTS_DIR  tests/ (the "# vhosts: FILE" line of a case is relative to it)
#   CASE       the .case file: "# vhosts: FILE", comments, one case line
#   EXPECTED   the golden output
#   MODE       "human": exact text, the decision line equals `decide`'s, the
#              expectation matches, and the reason named by the file
#              (NAME or NAME--variant) is the decision's or the handshake's;
#              "json": exact text, and the output is valid JSON (JSON_CHECK,
#              CMake's parser, and `PYTHON -m json.tool` when PYTHON is set)
#   JSON_CHECK the strict validator built from json_check.c
#   PYTHON     optional python3

function(fail msg)
  message(FATAL_ERROR "${CASE}: ${msg}\n--- stdout:\n${out}\n--- stderr:\n${err}")
endfunction()

file(STRINGS ${CASE} _vh REGEX "^# vhosts: " LIMIT_COUNT 1)
if(NOT _vh)
  fail("no '# vhosts: FILE' line")
endif()
string(REGEX REPLACE "^# vhosts: *" "" _vh "${_vh}")
set(VHOSTS ${TESTS_DIR}/${_vh})

set(_args explain -c ${VHOSTS})
if(MODE STREQUAL "json")
  list(APPEND _args --json)
endif()
execute_process(COMMAND ${TOOL} ${_args} INPUT_FILE ${CASE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  fail("exit status ${rc}")
endif()
if(NOT EXISTS ${EXPECTED})
  fail("no golden file ${EXPECTED} (generate it: cmake --build BUILD --target explain-goldens, then review the diff)")
endif()
file(READ ${EXPECTED} _want)
if(NOT out STREQUAL _want)
  get_filename_component(_name ${CASE} NAME_WE)
  set(_got ${CMAKE_CURRENT_BINARY_DIR}/explain-${MODE}-${_name}.out)
  file(WRITE ${_got} "${out}")
  execute_process(COMMAND diff -u ${EXPECTED} ${_got} OUTPUT_VARIABLE _diff)
  message(FATAL_ERROR "${CASE}: output differs from ${EXPECTED} (got: ${_got}):\n${_diff}")
endif()

if(MODE STREQUAL "json")
  execute_process(COMMAND ${JSON_CHECK} ${EXPECTED} RESULT_VARIABLE _jrc ERROR_VARIABLE _jout)
  if(NOT _jrc EQUAL 0)
    fail("not valid JSON: ${_jout}")
  endif()
  string(JSON _reason ERROR_VARIABLE _jerr GET "${out}" reason)
  if(_jerr)
    fail("not valid JSON (CMake parser): ${_jerr}")
  endif()
  string(JSON _matches ERROR_VARIABLE _jerr GET "${out}" matches)
  if(_jerr OR NOT _matches STREQUAL "ON")
    fail("the case's expectation does not match (matches: '${_matches}')")
  endif()
  if(PYTHON)
    execute_process(COMMAND ${PYTHON} -m json.tool INPUT_FILE ${EXPECTED}
                    RESULT_VARIABLE _prc OUTPUT_QUIET ERROR_VARIABLE _perr)
    if(NOT _prc EQUAL 0)
      fail("python3 -m json.tool rejects it: ${_perr}")
    endif()
  endif()
  return()
endif()

# The decision line is exactly what `decide` prints for the same case.
execute_process(COMMAND ${TOOL} decide -c ${VHOSTS} INPUT_FILE ${CASE}
                RESULT_VARIABLE _drc OUTPUT_VARIABLE _line ERROR_VARIABLE _derr)
if(NOT _drc EQUAL 0)
  fail("decide failed: ${_derr}")
endif()
string(FIND "${out}" "decision: ${_line}" _pos)
if(NOT _pos EQUAL 0)
  fail("the first line is not 'decision: ' + decide's line '${_line}'")
endif()
if(NOT out MATCHES "\nexpected: [^\n]* \\(matches\\)\n$")
  fail("the case's expectation does not match")
endif()
# The file is named after the reason it covers.
get_filename_component(_name ${CASE} NAME_WE)
string(REGEX REPLACE "--.*$" "" _token "${_name}")
if(NOT out MATCHES "^decision: [^\n]* ${_token}\n" AND
   NOT out MATCHES "\n  handshake: [^\n]*[(]${_token}[)]")
  fail("reason '${_token}' is neither the decision's nor the handshake's")
endif()

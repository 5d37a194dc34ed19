# Runs every line of DOC that starts with "case " (in code blocks or not)
# through `TOOL test -c VHOSTS`: each must carry "=> EXPECT" and pass, and
# the tool must count exactly as many cases as the document holds, so an
# example the tool rejects, skips or decides differently fails the test.
#   cmake -DTOOL=misdirect -DDOC=docs/case-format.md -DVHOSTS=basic.vhosts
#         -DOUT=dir -DMIN=10 -P check_case_lines.cmake
cmake_policy(VERSION 3.25)
file(STRINGS "${DOC}" lines REGEX "^case ")
list(LENGTH lines n)
if(n LESS MIN)
  message(FATAL_ERROR "${DOC}: ${n} case lines found, expected at least ${MIN}")
endif()
set(cases "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES " => ")
    message(FATAL_ERROR "${DOC}: a case line without '=> EXPECT': ${line}")
  endif()
  string(APPEND cases "${line}\n")
endforeach()
file(MAKE_DIRECTORY "${OUT}")
file(WRITE "${OUT}/doc.cases" "${cases}")
execute_process(COMMAND "${TOOL}" test -c "${VHOSTS}" "${OUT}/doc.cases"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "(^|\n)${n} passed, 0 failed\n$")
  message(FATAL_ERROR "the ${n} case lines of ${DOC} do not all pass against ${VHOSTS} "
                      "(exit ${rc}; they are in ${OUT}/doc.cases)")
endif()

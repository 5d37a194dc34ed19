# Rewrites the golden outputs from the current tool.  Run it through the
# build (`cmake --build BUILD --target explain-goldens`) or directly:
#   cmake -DTOOL=BUILD/tools/misdirect -P tests/explain/regenerate.cmake
# then review `git diff tests/explain` before committing.  The tests never
# call this.
get_filename_component(_here ${CMAKE_CURRENT_LIST_FILE} DIRECTORY)
get_filename_component(_tests ${_here} DIRECTORY)
foreach(mode human json)
  if(mode STREQUAL "human")
    file(GLOB _cases ${_here}/golden/*.case)
    set(_ext txt)
    set(_flag)
  else()
    file(GLOB _cases ${_here}/json/*.case)
    set(_ext json)
    set(_flag --json)
  endif()
  foreach(c IN LISTS _cases)
    file(STRINGS ${c} _vh REGEX "^# vhosts: " LIMIT_COUNT 1)
    string(REGEX REPLACE "^# vhosts: *" "" _vh "${_vh}")
    execute_process(COMMAND ${TOOL} explain -c ${_tests}/${_vh} ${_flag} INPUT_FILE ${c}
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "${c}: exit status ${_rc}: ${_err}")
    endif()
    get_filename_component(_dir ${c} DIRECTORY)
    get_filename_component(_name ${c} NAME_WE)
    file(WRITE ${_dir}/${_name}.${_ext} "${_out}")
  endforeach()
endforeach()
message(STATUS "golden files rewritten; review them with git diff")

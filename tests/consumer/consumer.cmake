# Packaging proof, run by ctest as `cmake -D... -P consumer.cmake`.
#
# STEP=install           install the build tree into WORK_DIR/prefix and check
#                        the installed layout (headers, libraries, SONAME
#                        links, exported symbols, CMake package, .pc file)
# STEP=find_package      build project/ with find_package(misdirect), run it
# STEP=pkg_config        build consumer.c with pkg-config's flags, run it
#                        (shared, and static with --static)
# STEP=relocated         copy the prefix elsewhere, check that nothing in it
#                        names the old place, and build both ways against it
# STEP=add_subdirectory  build project/ with misdirect as a subdirectory
# STEP=add_subdirectory_warnings  the same with a warning flag misdirect's code
#                        trips: builds (no -Werror below a parent project);
#                        a top-level configure still defaults to -Werror
#
# Inputs (-D): STEP WORK_DIR MISDIRECT_BUILD_DIR MISDIRECT_SOURCE_DIR
# CONSUMER_DIR C_COMPILER GENERATOR SANITIZE VERSION SOVERSION LIBVERSION
# SHARED PKG_CONFIG.
cmake_minimum_required(VERSION 3.25)

foreach(v STEP WORK_DIR MISDIRECT_BUILD_DIR MISDIRECT_SOURCE_DIR CONSUMER_DIR C_COMPILER
          GENERATOR VERSION SOVERSION LIBVERSION PKG_CONFIG)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "consumer.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT DEFINED SHARED)
  set(SHARED 1)
endif()

set(PREFIX ${WORK_DIR}/prefix)
set(SAN_FLAGS "")
if(SANITIZE)
  set(SAN_FLAGS "-fsanitize=${SANITIZE}")
endif()

# run(<what> COMMAND...): run a command, echo its output, fail on non-zero exit.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("-- ${what}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc})")
  endif()
endfunction()

function(require_file path)
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "installed tree lacks ${path}")
  endif()
endfunction()

# The library folder of a prefix, located through the installed .pc file.
function(find_libdir prefix out)
  file(GLOB_RECURSE pcs ${prefix}/*/pkgconfig/misdirect.pc)
  list(LENGTH pcs n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected exactly one misdirect.pc under ${prefix}, found: ${pcs}")
  endif()
  get_filename_component(pcdir ${pcs} DIRECTORY)
  get_filename_component(libdir ${pcdir} DIRECTORY)
  set(${out} ${libdir} PARENT_SCOPE)
endfunction()

# Build project/ against `prefix` with find_package and run the programs.
function(build_find_package prefix bindir)
  file(REMOVE_RECURSE ${bindir})
  run("configure consumer (find_package, ${prefix})"
      ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${bindir} -G ${GENERATOR}
      -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
      -DMODE=find_package -DMISDIRECT_EXPECTED_VERSION=${VERSION}
      "-DCMAKE_C_FLAGS=${SAN_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SAN_FLAGS}")
  run("build consumer (find_package)" ${CMAKE_COMMAND} --build ${bindir} -j 2)
  file(READ ${bindir}/linked-library.txt linked)
  string(FIND "${linked}" "${prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "misdirect::misdirect resolved to ${linked}, not into ${prefix}")
  endif()
  find_libdir(${prefix} libdir)
  run("run consumer (find_package)" ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${bindir}/consumer)
  # misdirect::static names the static library (an alias of misdirect::misdirect
  # in a static-only install).
  if(NOT EXISTS ${bindir}/consumer_static)
    message(FATAL_ERROR "the installed package has no misdirect::static target")
  endif()
  run("run consumer_static (find_package)" ${bindir}/consumer_static)
endfunction()

# Build consumer.c with pkg-config's flags from `prefix` and run it.
function(build_pkg_config prefix bindir)
  file(REMOVE_RECURSE ${bindir})
  file(MAKE_DIRECTORY ${bindir})
  find_libdir(${prefix} libdir)
  set(ENV{PKG_CONFIG_PATH} ${libdir}/pkgconfig)
  unset(ENV{PKG_CONFIG_LIBDIR})
  unset(ENV{PKG_CONFIG_SYSROOT_DIR})

  execute_process(COMMAND ${PKG_CONFIG} --modversion misdirect
                  OUTPUT_VARIABLE modversion OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT modversion STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config --modversion misdirect gave '${modversion}' (exit ${rc}), expected ${VERSION}")
  endif()
  foreach(var prefix includedir libdir)
    execute_process(COMMAND ${PKG_CONFIG} --variable=${var} misdirect
                    OUTPUT_VARIABLE value OUTPUT_STRIP_TRAILING_WHITESPACE)
    get_filename_component(value "${value}" REALPATH)
    get_filename_component(real_prefix "${prefix}" REALPATH)
    string(FIND "${value}" "${real_prefix}" at)
    if(NOT at EQUAL 0)
      message(FATAL_ERROR "pkg-config ${var}=${value} is not inside ${prefix}")
    endif()
  endforeach()

  # Every installed module (adapters included) must resolve, with flags
  # pointing into this prefix.
  file(GLOB pcs ${libdir}/pkgconfig/*.pc)
  foreach(pc IN LISTS pcs)
    get_filename_component(mod ${pc} NAME_WE)
    foreach(mode "" "--static")
      execute_process(COMMAND ${PKG_CONFIG} ${mode} --cflags --libs ${mod}
                      OUTPUT_VARIABLE mflags ERROR_VARIABLE merr RESULT_VARIABLE rc
                      OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "pkg-config ${mode} --cflags --libs ${mod} failed: ${merr}")
      endif()
      message("-- pkg-config ${mode} --cflags --libs ${mod}: ${mflags}")
    endforeach()
  endforeach()

  # Shared (the default link when both libraries are installed).
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs misdirect
                  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs misdirect failed")
  endif()
  message("-- pkg-config --cflags --libs misdirect: ${flags}")
  if(flags MATCHES "MISDIRECT_STATICLIB")
    message(FATAL_ERROR "MISDIRECT_STATICLIB must only come with --static")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  separate_arguments(san UNIX_COMMAND "${SAN_FLAGS}")
  set(cc ${C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror ${san})
  if(SHARED)
    run("compile consumer (pkg-config)"
        ${cc} ${CONSUMER_DIR}/consumer.c ${flags} -o ${bindir}/consumer)
    run("run consumer (pkg-config)"
        ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${bindir}/consumer)
  endif()

  # Static: --static adds Cflags.private (MISDIRECT_STATICLIB).
  execute_process(COMMAND ${PKG_CONFIG} --static --cflags --libs misdirect
                  OUTPUT_VARIABLE sflags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  message("-- pkg-config --static --cflags --libs misdirect: ${sflags}")
  if(NOT rc EQUAL 0 OR NOT sflags MATCHES "-DMISDIRECT_STATICLIB")
    message(FATAL_ERROR "pkg-config --static must add -DMISDIRECT_STATICLIB (got '${sflags}')")
  endif()
  string(REPLACE "-lmisdirect" "-l:libmisdirect.a" sflags "${sflags}")
  separate_arguments(sflags UNIX_COMMAND "${sflags}")
  run("compile consumer_static (pkg-config --static)"
      ${cc} ${CONSUMER_DIR}/consumer.c ${sflags} -o ${bindir}/consumer_static)
  execute_process(COMMAND readelf -d ${bindir}/consumer_static OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND dyn MATCHES "libmisdirect")
    message(FATAL_ERROR "consumer_static still needs a shared libmisdirect:\n${dyn}")
  endif()
  run("run consumer_static (pkg-config --static)" ${bindir}/consumer_static)
endfunction()

# ------------------------------------------------------------------------

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE ${WORK_DIR})
  run("install ${MISDIRECT_BUILD_DIR} into ${PREFIX}"
      ${CMAKE_COMMAND} --install ${MISDIRECT_BUILD_DIR} --prefix ${PREFIX})

  require_file(${PREFIX}/include/misdirect/misdirect.h)
  require_file(${PREFIX}/include/misdirect/version.h)
  file(READ ${PREFIX}/include/misdirect/version.h vh)
  if(NOT vh MATCHES "#define MDR_VERSION \"${VERSION}\"" OR vh MATCHES "@")
    message(FATAL_ERROR "installed version.h is not configured for ${VERSION}:\n${vh}")
  endif()

  # Manual pages: misdirect-vhosts(5) always, misdirect(1) and
  # misdirect-server(1) with their programs.
  file(GLOB_RECURSE man5 ${PREFIX}/misdirect-vhosts.5)
  list(LENGTH man5 n)
  if(NOT n EQUAL 1 OR NOT man5 MATCHES "/man5/misdirect-vhosts[.]5$")
    message(FATAL_ERROR "expected one man5/misdirect-vhosts.5 under ${PREFIX}, found: ${man5}")
  endif()
  get_filename_component(mandir ${man5} DIRECTORY)
  get_filename_component(mandir ${mandir} DIRECTORY)
  foreach(prog misdirect misdirect-server)
    if(EXISTS ${PREFIX}/bin/${prog})
      require_file(${mandir}/man1/${prog}.1)
    endif()
  endforeach()

  find_libdir(${PREFIX} libdir)
  message("-- library folder: ${libdir}")
  require_file(${libdir}/libmisdirect.a)
  set(cmdir ${libdir}/cmake/misdirect)
  foreach(f misdirect-config.cmake misdirect-config-version.cmake misdirect-targets.cmake)
    require_file(${cmdir}/${f})
  endforeach()

  if(SHARED)
    # libmisdirect.so -> libmisdirect.so.SOVERSION -> libmisdirect.so.LIBVERSION
    set(dev ${libdir}/libmisdirect.so)
    set(soname libmisdirect.so.${SOVERSION})
    set(real libmisdirect.so.${LIBVERSION})
    foreach(link_target IN ITEMS "libmisdirect.so:${soname}" "${soname}:${real}")
      string(REPLACE ":" ";" pair "${link_target}")
      list(GET pair 0 link)
      list(GET pair 1 target)
      if(NOT IS_SYMLINK ${libdir}/${link})
        message(FATAL_ERROR "${libdir}/${link} is not a symlink")
      endif()
      file(READ_SYMLINK ${libdir}/${link} got)
      if(NOT got STREQUAL target)
        message(FATAL_ERROR "${link} points to '${got}', expected '${target}'")
      endif()
    endforeach()
    if(IS_SYMLINK ${libdir}/${real} OR NOT EXISTS ${libdir}/${real})
      message(FATAL_ERROR "${libdir}/${real} must be the real shared library")
    endif()

    find_program(READELF readelf)
    find_program(NM nm)
    if(READELF)
      execute_process(COMMAND ${READELF} -d ${libdir}/${real} OUTPUT_VARIABLE dyn)
      if(NOT dyn MATCHES "Library soname: \\[${soname}\\]")
        message(FATAL_ERROR "SONAME of ${real} is not ${soname}:\n${dyn}")
      endif()
      if(dyn MATCHES "R(UN)?PATH")
        message(FATAL_ERROR "the installed shared library carries an RPATH/RUNPATH:\n${dyn}")
      endif()
    endif()
    if(NM)
      # Only the public mdr_ API is exported (hidden visibility + version script).
      execute_process(COMMAND ${NM} -D --defined-only ${libdir}/${real} OUTPUT_VARIABLE syms)
      string(REPLACE "\n" ";" syms "${syms}")
      set(n_api 0)
      foreach(line IN LISTS syms)
        if(line MATCHES "^[0-9a-fA-F]* +([A-Za-z]) +([^ @]+)")
          set(kind ${CMAKE_MATCH_1})
          set(sym ${CMAKE_MATCH_2})
          if(kind STREQUAL "A")      # the version node (MISDIRECT_0)
            continue()
          endif()
          if(NOT sym MATCHES "^mdr_")
            message(FATAL_ERROR "the shared library exports '${sym}', which is not public API")
          endif()
          math(EXPR n_api "${n_api} + 1")
        endif()
      endforeach()
      foreach(must mdr_version mdr_table_parse mdr_decide mdr_handshake mdr_strerror)
        if(NOT syms MATCHES "[ ]${must}(@|;|$)")
          message(FATAL_ERROR "the shared library does not export ${must}")
        endif()
      endforeach()
      message("-- ${n_api} exported mdr_ symbols, nothing else")
    endif()
  endif()

  # Every .pc file (the core's and each adapter's) must be relocatable: its
  # prefix comes from ${pcfiledir}, and it names no absolute path to here.
  file(GLOB pcs ${libdir}/pkgconfig/*.pc)
  foreach(pcfile IN LISTS pcs)
    get_filename_component(pcname ${pcfile} NAME)
    file(READ ${pcfile} pc)
    message("-- ${pcname}:\n${pc}")
    if(NOT pc MATCHES "prefix=\\\${pcfiledir}")
      message(FATAL_ERROR "${pcname} does not derive its prefix from \${pcfiledir}")
    endif()
    string(FIND "${pc}" "${PREFIX}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${pcname} names the install prefix ${PREFIX}")
    endif()
  endforeach()
  message("-- installed tree OK")

elseif(STEP STREQUAL "find_package")
  build_find_package(${PREFIX} ${WORK_DIR}/find_package)

elseif(STEP STREQUAL "pkg_config")
  build_pkg_config(${PREFIX} ${WORK_DIR}/pkg_config)

elseif(STEP STREQUAL "relocated")
  set(moved ${WORK_DIR}/relocated/elsewhere)
  file(REMOVE_RECURSE ${WORK_DIR}/relocated)
  file(MAKE_DIRECTORY ${moved})
  file(COPY ${PREFIX}/ DESTINATION ${moved})
  # Nothing in the copied tree may name the original prefix.
  file(GLOB_RECURSE texts ${moved}/*.pc ${moved}/*.cmake ${moved}/*.h)
  foreach(f IN LISTS texts)
    file(READ ${f} body)
    string(FIND "${body}" "${PREFIX}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${f} names the original install prefix ${PREFIX}")
    endif()
  endforeach()
  build_pkg_config(${moved} ${WORK_DIR}/relocated/pkg_config)
  build_find_package(${moved} ${WORK_DIR}/relocated/find_package)

elseif(STEP STREQUAL "add_subdirectory")
  set(bindir ${WORK_DIR}/add_subdirectory)
  file(REMOVE_RECURSE ${bindir})
  run("configure consumer (add_subdirectory)"
      ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${bindir} -G ${GENERATOR}
      -DCMAKE_C_COMPILER=${C_COMPILER} -DMODE=add_subdirectory
      -DMISDIRECT_SOURCE_DIR=${MISDIRECT_SOURCE_DIR} "-DMISDIRECT_SANITIZE=${SANITIZE}"
      -DMISDIRECT_BUILD_SHARED=${SHARED}
      "-DCMAKE_C_FLAGS=${SAN_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SAN_FLAGS}")
  run("build consumer (add_subdirectory)" ${CMAKE_COMMAND} --build ${bindir} -j 2)
  run("run consumer (add_subdirectory)" ${bindir}/consumer)
  run("run consumer_static (add_subdirectory)" ${bindir}/consumer_static)

elseif(STEP STREQUAL "add_subdirectory_warnings")
  # A parent project whose compiler warns about misdirect's code (here
  # -Wpadded stands in for a newer compiler's new warnings) must still
  # build: MISDIRECT_WERROR defaults to OFF below another project...
  set(bindir ${WORK_DIR}/add_subdirectory_warnings)
  file(REMOVE_RECURSE ${bindir})
  run("configure consumer (add_subdirectory, -Wpadded)"
      ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${bindir} -G ${GENERATOR}
      -DCMAKE_C_COMPILER=${C_COMPILER} -DMODE=add_subdirectory
      -DMISDIRECT_SOURCE_DIR=${MISDIRECT_SOURCE_DIR} "-DMISDIRECT_SANITIZE=${SANITIZE}"
      -DMISDIRECT_BUILD_SHARED=${SHARED} -DMISDIRECT_OPENSSL=OFF -DMISDIRECT_NGHTTP2=OFF
      -DCONSUMER_WERROR=OFF "-DCMAKE_C_FLAGS=${SAN_FLAGS} -Wpadded" "-DCMAKE_EXE_LINKER_FLAGS=${SAN_FLAGS}")
  file(READ ${bindir}/misdirect-werror.txt werror)
  if(werror)
    message(FATAL_ERROR "MISDIRECT_WERROR is '${werror}' under add_subdirectory; want OFF")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${bindir} -j 2
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("-- build consumer (add_subdirectory, -Wpadded)\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the parent project's build failed on misdirect's warnings (${rc})")
  endif()
  if(NOT out MATCHES "warning: [^\n]*-Wpadded")
    message(FATAL_ERROR "no -Wpadded warning in misdirect's code: this test no longer "
                        "proves anything; pick a flag that warns")
  endif()
  run("run consumer (add_subdirectory, -Wpadded)" ${bindir}/consumer)
  # ... while misdirect's own top-level build keeps -Werror by default.
  set(topdir ${WORK_DIR}/top-level-default)
  file(REMOVE_RECURSE ${topdir})
  run("configure misdirect top-level with defaults"
      ${CMAKE_COMMAND} -S ${MISDIRECT_SOURCE_DIR} -B ${topdir} -G ${GENERATOR}
      -DCMAKE_C_COMPILER=${C_COMPILER} -DMISDIRECT_BUILD_TESTS=OFF -DMISDIRECT_BUILD_BENCH=OFF
      -DMISDIRECT_BUILD_TOOLS=OFF -DMISDIRECT_OPENSSL=OFF -DMISDIRECT_NGHTTP2=OFF)
  file(STRINGS ${topdir}/CMakeCache.txt werror_line REGEX "^MISDIRECT_WERROR:")
  if(NOT werror_line STREQUAL "MISDIRECT_WERROR:BOOL=ON")
    message(FATAL_ERROR "top-level default is '${werror_line}'; want MISDIRECT_WERROR:BOOL=ON")
  endif()

else()
  message(FATAL_ERROR "unknown STEP '${STEP}'")
endif()

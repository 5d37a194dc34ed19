# misdirect_add_component: build, alias, export and install one of the
# optional component libraries (misdirect-origin, misdirect-openssl,
# misdirect-nghttp2) the same way the core library is built in lib/:
#
#   misdirect_add_component(<name>
#     SOURCES <file>...             sources, relative to the calling folder
#     DEFINE <PREFIX>               <PREFIX>_BUILDING_LIBRARY while building,
#                                   <PREFIX>_STATICLIB for static consumers
#     STATIC_LINK <item>...         PUBLIC link items of the static library
#     SHARED_LINK <item>...         PUBLIC link items of the shared library
#     HEADER <file>                 public header to install
#     PC_IN <file>                  pkg-config template (@MISDIRECT_PC_TO_PREFIX@)
#     [CORE_MEM])                   uses the core's allocator front end
#                                   (lib/mem.h): the shared library compiles
#                                   its own hidden copy of lib/mem.c, since
#                                   the core's shared library does not export
#                                   it; the static one uses the core's
#
# Targets: misdirect_<name>_static (misdirect::<name>_static) always, and
# misdirect_<name> (misdirect::<name>, SONAME of the core, version script
# misdirect-<name>.map, RUNPATH $ORIGIN so it finds the core beside it) when
# the core is built shared; otherwise misdirect::<name> is the static one.
# Both are installed with the export set misdirect-<name>-targets.
function(misdirect_add_component name)
  cmake_parse_arguments(PARSE_ARGV 1 C "CORE_MEM" "DEFINE;HEADER;PC_IN" "SOURCES;STATIC_LINK;SHARED_LINK")
  set(_static misdirect_${name}_static)
  set(_shared misdirect_${name})

  foreach(_kind STATIC SHARED)
    if(_kind STREQUAL "SHARED" AND NOT TARGET misdirect_shared)
      continue()
    endif()
    if(_kind STREQUAL "STATIC")
      set(_tgt ${_static})
      set(_link ${C_STATIC_LINK})
    else()
      set(_tgt ${_shared})
      set(_link ${C_SHARED_LINK})
    endif()
    set(_srcs ${C_SOURCES})
    if(C_CORE_MEM AND _kind STREQUAL "SHARED")
      list(APPEND _srcs ${PROJECT_SOURCE_DIR}/lib/mem.c)
    endif()
    add_library(${_tgt} ${_kind} ${_srcs})
    if(C_CORE_MEM)
      target_include_directories(${_tgt} PRIVATE ${PROJECT_SOURCE_DIR}/lib)
    endif()
    target_include_directories(${_tgt}
      PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
             $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
      PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${_tgt} PUBLIC ${_link})
    target_compile_options(${_tgt} PRIVATE ${MISDIRECT_WARNINGS})
    target_compile_definitions(${_tgt} PRIVATE ${C_DEFINE}_BUILDING_LIBRARY)
    set_target_properties(${_tgt} PROPERTIES C_VISIBILITY_PRESET hidden
                          POSITION_INDEPENDENT_CODE ON OUTPUT_NAME misdirect-${name})
  endforeach()

  target_compile_definitions(${_static} PUBLIC ${C_DEFINE}_STATICLIB)
  add_library(misdirect::${name}_static ALIAS ${_static})
  set(_installed ${_static})
  if(TARGET ${_shared})
    set(_map ${CMAKE_CURRENT_SOURCE_DIR}/misdirect-${name}.map)
    set_target_properties(${_shared} PROPERTIES
      VERSION ${MISDIRECT_LIBVERSION} SOVERSION ${MISDIRECT_SOVERSION}
      EXPORT_NAME ${name} INSTALL_RPATH "$ORIGIN")
    target_link_options(${_shared} PRIVATE "LINKER:--version-script=${_map}")
    set_property(TARGET ${_shared} APPEND PROPERTY LINK_DEPENDS ${_map})
    set_target_properties(${_static} PROPERTIES EXPORT_NAME ${name}_static)
    add_library(misdirect::${name} ALIAS ${_shared})
    list(APPEND _installed ${_shared})
  else()
    set_target_properties(${_static} PROPERTIES EXPORT_NAME ${name})
    add_library(misdirect::${name} ALIAS ${_static})
  endif()

  install(TARGETS ${_installed} EXPORT misdirect-${name}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT misdirect-${name}-targets NAMESPACE misdirect::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/misdirect)
  install(FILES ${C_HEADER} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/misdirect)

  # Relocatable pkg-config file: the prefix is found relative to the .pc file.
  file(RELATIVE_PATH MISDIRECT_PC_TO_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig"
       "${CMAKE_INSTALL_PREFIX}")
  string(REGEX REPLACE "/$" "" MISDIRECT_PC_TO_PREFIX "${MISDIRECT_PC_TO_PREFIX}")
  configure_file(${C_PC_IN} ${PROJECT_BINARY_DIR}/pkgconfig/misdirect-${name}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/misdirect-${name}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

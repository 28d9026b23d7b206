# SPDX-License-Identifier: MIT
#
# cmake -D INCLUDE_DIR=<repo>/include -P check_header_guards.cmake
#
# Every header's include guard is derived from its path under include/:
#   pyconc.hpp                         PYCONC_HPP_INCLUDED
#   pyconc/version.hpp                 PYCONC_VERSION_HPP_INCLUDED
#   pyconc/concurrent/futures.hpp      PYCONC_CONCURRENT_FUTURES_HPP_INCLUDED
# and the header opens with `#ifndef GUARD` followed by `#define GUARD`.
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "pass -D INCLUDE_DIR=<include directory>")
endif()

file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/*.hpp")
list(SORT headers)
set(bad "")
foreach(header IN LISTS headers)
  string(TOUPPER "${header}" guard)
  string(MAKE_C_IDENTIFIER "${guard}" guard)
  set(guard "${guard}_INCLUDED")
  file(READ "${INCLUDE_DIR}/${header}" text)
  if(NOT text MATCHES "#ifndef[ \t]+${guard}[ \t]*\r?\n[ \t]*#define[ \t]+${guard}[ \t\r\n]")
    string(APPEND bad "  ${header}: expected `#ifndef ${guard}` / `#define ${guard}`\n")
  endif()
endforeach()

list(LENGTH headers count)
if(bad)
  message(FATAL_ERROR "header guards that do not match their path:\n${bad}")
endif()
message(STATUS "header guards: ${count} headers checked, all match their paths")

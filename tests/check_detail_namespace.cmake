# SPDX-License-Identifier: MIT
#
# cmake -D INCLUDE_DIR=<repo>/include -P check_detail_namespace.cmake
#
# pyconc's internals live in one namespace, pyconc::detail: every `namespace detail {` opens
# directly inside `namespace pyconc { inline namespace v0 {`, never inside a module's
# namespace, and no header pulls the internals into another namespace with `using namespace`.
# The internals never include a module: a header under detail/ includes only other detail/
# headers and the vocabulary headers errors.hpp and timeout.hpp.
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "pass -D INCLUDE_DIR=<include directory>")
endif()

file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/*.hpp")
list(SORT headers)
set(bad "")
foreach(header IN LISTS headers)
  file(STRINGS "${INCLUDE_DIR}/${header}" lines)
  set(stack "")
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    if(line MATCHES "^(inline )?namespace ([A-Za-z_0-9]+) {}")
      # an empty namespace opens and closes on one line
    elseif(line MATCHES "^(inline )?namespace ([A-Za-z_0-9]+) {")
      set(name "${CMAKE_MATCH_2}")
      if(name STREQUAL "detail" AND NOT stack STREQUAL "pyconc;v0")
        string(APPEND bad "  ${header}:${number}: namespace detail inside ${stack}\n")
      endif()
      list(APPEND stack "${name}")
    elseif(line MATCHES "^}  // namespace ([A-Za-z_0-9]+)")
      list(POP_BACK stack)
    endif()
    if(header MATCHES "^pyconc/detail/" AND line MATCHES "^#include <pyconc/([^>]+)>")
      set(included "${CMAKE_MATCH_1}")
      if(NOT included MATCHES "^detail/" AND NOT included STREQUAL "errors.hpp" AND NOT included STREQUAL "timeout.hpp")
        string(APPEND bad "  ${header}:${number}: includes the module header <pyconc/${included}>\n")
      endif()
    endif()
    if(line MATCHES "using namespace [a-z:]*detail")
      string(APPEND bad "  ${header}:${number}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "internals outside the one pyconc::detail namespace:\n${bad}")
endif()
list(LENGTH headers count)
message("${count} headers keep their internals in pyconc::detail, and detail/ includes no module")

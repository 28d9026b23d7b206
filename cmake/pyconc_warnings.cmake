# SPDX-License-Identifier: MIT
#
# pyconc_add_warnings(<target> [WERROR <bool>])
#
# Puts pyconc's warning flags on <target> as INTERFACE usage requirements. Only the private
# `pyconc_dev_settings` target gets them, so they reach pyconc's own tests, examples and
# benchmarks and never a consumer of `pyconc::pyconc`.
include_guard(GLOBAL)

function(pyconc_add_warnings target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "WERROR" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "pyconc_add_warnings: unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()

  if(CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$")
    set(flags -Wall -Wextra -Wpedantic)
    if(arg_WERROR)
      list(APPEND flags -Werror)
    endif()
  elseif(CMAKE_CXX_COMPILER_ID STREQUAL "MSVC")
    set(flags /W4 /permissive-)
    if(arg_WERROR)
      list(APPEND flags /WX)
    endif()
  else()
    message(STATUS "pyconc: no warning flags known for ${CMAKE_CXX_COMPILER_ID}")
    set(flags "")
  endif()

  target_compile_options(${target} INTERFACE ${flags})
endfunction()

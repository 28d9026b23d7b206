# SPDX-License-Identifier: MIT
#
# pyconc_add_sanitizers(<target> <list>)
#
# Adds compile and link flags for the sanitizers in <list> to <target> as INTERFACE usage
# requirements. <list> is empty, "address;undefined" (either alone works too) or "thread".
# Like the warnings, these go on `pyconc_dev_settings` only, never on `pyconc::pyconc`.
include_guard(GLOBAL)

function(pyconc_add_sanitizers target sanitizers)
  if(sanitizers STREQUAL "")
    return()
  endif()

  set(known address undefined thread)
  foreach(s IN LISTS sanitizers)
    if(NOT s IN_LIST known)
      message(FATAL_ERROR
        "PYCONC_SANITIZE: unknown sanitizer '${s}' (use \"address;undefined\" or \"thread\")")
    endif()
  endforeach()
  if("thread" IN_LIST sanitizers AND "address" IN_LIST sanitizers)
    message(FATAL_ERROR "PYCONC_SANITIZE: ThreadSanitizer cannot be combined with AddressSanitizer")
  endif()

  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$")
    message(FATAL_ERROR "PYCONC_SANITIZE needs g++ or clang++ (compiler: ${CMAKE_CXX_COMPILER_ID})")
  endif()

  list(JOIN sanitizers "," joined)
  set(flags "-fsanitize=${joined}" -fno-omit-frame-pointer)
  if("undefined" IN_LIST sanitizers)
    # A UBSan finding fails the test instead of scrolling past.
    list(APPEND flags -fno-sanitize-recover=undefined)
  endif()

  target_compile_options(${target} INTERFACE ${flags} -g)
  target_link_options(${target} INTERFACE ${flags})
  message(STATUS "pyconc: sanitizers for tests, examples and benchmarks: ${joined}")
endfunction()

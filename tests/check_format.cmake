# SPDX-License-Identifier: MIT
#
# cmake -D SOURCE_DIR=<repo> -D CLANG_FORMAT=<clang-format> -P check_format.cmake
#
# Every C++ file of the project (include/, tests/, examples/, bench/) is formatted as
# .clang-format says. The layout clang-format produces changes between its major versions, so
# the check runs with the version the project is formatted with (14, Debian 12's) and is
# skipped (exit code 77) with any other. To reformat: `clang-format -i <files>`.
if(NOT SOURCE_DIR OR NOT CLANG_FORMAT)
  message(FATAL_ERROR "pass -D SOURCE_DIR=<repository> -D CLANG_FORMAT=<clang-format>")
endif()

execute_process(COMMAND "${CLANG_FORMAT}" --version OUTPUT_VARIABLE version_text)
if(NOT version_text MATCHES "version 14\\.")
  message("skipped: ${CLANG_FORMAT} is not clang-format 14 (${version_text})")
  cmake_language(EXIT 77)
endif()

file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}"
     "${SOURCE_DIR}/include/*.hpp" "${SOURCE_DIR}/tests/*.hpp" "${SOURCE_DIR}/tests/*.cpp"
     "${SOURCE_DIR}/examples/*.cpp" "${SOURCE_DIR}/bench/*.cpp" "${SOURCE_DIR}/bench/*.hpp")
list(SORT sources)
set(bad "")
foreach(source IN LISTS sources)
  execute_process(COMMAND "${CLANG_FORMAT}" --dry-run --Werror "${source}"
                  WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    string(APPEND bad "  ${source}\n")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "not formatted as .clang-format says (run clang-format -i on them):\n${bad}")
endif()
list(LENGTH sources count)
message("${count} files formatted as .clang-format says")

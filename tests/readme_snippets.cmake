# SPDX-License-Identifier: MIT
#
# Included from tests/CMakeLists.txt. Every ```cpp block of README.md that holds a complete
# program (it has `int main(`) is written to the build tree, compiled with pyconc's warning
# flags, and run as the CTest test readme.snippet_<n> (label "readme"): the README cannot
# show code that does not build.

set(pyconc_readme "${PROJECT_SOURCE_DIR}/README.md")
if(NOT EXISTS "${pyconc_readme}")
  return()
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${pyconc_readme}")

file(READ "${pyconc_readme}" pyconc_readme_rest)
set(pyconc_snippet_count 0)
while(TRUE)
  string(FIND "${pyconc_readme_rest}" "```cpp\n" pyconc_fence)
  if(pyconc_fence EQUAL -1)
    break()
  endif()
  math(EXPR pyconc_fence "${pyconc_fence} + 7")
  string(SUBSTRING "${pyconc_readme_rest}" ${pyconc_fence} -1 pyconc_readme_rest)
  string(FIND "${pyconc_readme_rest}" "\n```" pyconc_fence)
  if(pyconc_fence EQUAL -1)
    message(FATAL_ERROR "README.md: a ```cpp block is not closed")
  endif()
  string(SUBSTRING "${pyconc_readme_rest}" 0 ${pyconc_fence} pyconc_snippet)
  string(SUBSTRING "${pyconc_readme_rest}" ${pyconc_fence} -1 pyconc_readme_rest)
  if(NOT pyconc_snippet MATCHES "int main\\(")
    continue()
  endif()

  math(EXPR pyconc_snippet_count "${pyconc_snippet_count} + 1")
  set(pyconc_snippet_file "${CMAKE_CURRENT_BINARY_DIR}/readme/snippet_${pyconc_snippet_count}.cpp")
  set(pyconc_snippet "// Generated from README.md by tests/readme_snippets.cmake.\n${pyconc_snippet}\n")
  set(pyconc_snippet_old "")
  if(EXISTS "${pyconc_snippet_file}")
    file(READ "${pyconc_snippet_file}" pyconc_snippet_old)
  endif()
  if(NOT pyconc_snippet STREQUAL pyconc_snippet_old)  # keep the timestamp when unchanged
    file(WRITE "${pyconc_snippet_file}" "${pyconc_snippet}")
  endif()

  set(pyconc_snippet_target "test_readme_snippet_${pyconc_snippet_count}")
  add_executable(${pyconc_snippet_target} "${pyconc_snippet_file}")
  target_link_libraries(${pyconc_snippet_target} PRIVATE pyconc::pyconc pyconc_dev_settings)
  add_test(NAME readme.snippet_${pyconc_snippet_count} COMMAND ${pyconc_snippet_target})
  set_tests_properties(readme.snippet_${pyconc_snippet_count} PROPERTIES
    TIMEOUT ${PYCONC_TEST_TIMEOUT} LABELS readme)
endwhile()

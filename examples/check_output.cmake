# SPDX-License-Identifier: MIT
#
# Runs one example and compares its standard output with a golden file.
#
#   cmake -DPROGRAM=<executable> [-DSCRIPT=<file.py>] -DEXPECTED=<file.expected>
#         [-DRUN_TIMEOUT=<seconds>] -P check_output.cmake
#
# PROGRAM is run (with SCRIPT as its only argument when given, e.g. python3 and a .py file).
# The example passes when it exits with status 0, writes nothing to stderr and its stdout
# equals the contents of EXPECTED. Header lines at the top of EXPECTED change the comparison
# (each is dropped before comparing):
#   "# unordered"  both sides are compared as sorted lists of lines: for programs whose line
#                  order is left to the scheduler;
#   "# pids"       every number of 3 or more digits in the output (a process id) is replaced
#                  by <pid1>, <pid2>, ... in the order the numbers first appear, so EXPECTED
#                  writes "parent process <pid1>." where the program printed its pid;
#   "# any pids"   every such number is replaced by <pid>: for programs whose processes
#                  print their pids in an order left to the scheduler;
#   "# runs alone"  nothing here: examples/CMakeLists.txt runs the example with no other test
#                  beside it (it times work on all the cores);
#   "# needs python3"  nothing here: examples/CMakeLists.txt tests the example only where
#                  python3 is found.

cmake_minimum_required(VERSION 3.20)

foreach(var PROGRAM EXPECTED)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_output.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED RUN_TIMEOUT)
  set(RUN_TIMEOUT 25)
endif()

set(command "${PROGRAM}")
if(DEFINED SCRIPT AND NOT "${SCRIPT}" STREQUAL "")
  list(APPEND command "${SCRIPT}")
endif()

execute_process(
  COMMAND ${command}
  OUTPUT_VARIABLE actual
  ERROR_VARIABLE errors
  RESULT_VARIABLE status
  TIMEOUT ${RUN_TIMEOUT})

file(READ "${EXPECTED}" expected)
string(REPLACE "\r\n" "\n" expected "${expected}")
string(REPLACE "\r\n" "\n" actual "${actual}")

# Splits text into a CMake list of lines. Characters that CMake lists treat specially
# (';', '[', ']', '\') are replaced by markers first; both sides get the same treatment,
# so comparisons are unaffected.
function(_pyconc_split_lines text out_var)
  string(REPLACE "\\" "<bs>" text "${text}")
  string(REPLACE ";" "<semicolon>" text "${text}")
  string(REPLACE "[" "<lb>" text "${text}")
  string(REPLACE "]" "<rb>" text "${text}")
  string(REGEX REPLACE "\n$" "" text "${text}")
  if("${text}" STREQUAL "")
    set(lines "")
  else()
    string(REPLACE "\n" ";" lines "${text}")
  endif()
  set(${out_var} "${lines}" PARENT_SCOPE)
endfunction()

# Undoes the replacements of _pyconc_split_lines on one line, for messages.
function(_pyconc_unescape_line var)
  set(text "${${var}}")
  string(REPLACE "<rb>" "]" text "${text}")
  string(REPLACE "<lb>" "[" text "${text}")
  string(REPLACE "<semicolon>" ";" text "${text}")
  string(REPLACE "<bs>" "\\" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

set(mode "exact")
set(map_pids FALSE)
set(any_pids FALSE)
while("${expected}" MATCHES "^# (unordered|pids|any pids|needs python3|runs alone)[ \t]*\n")
  if("${expected}" MATCHES "^# unordered[ \t]*\n")
    set(mode "unordered")
  elseif("${expected}" MATCHES "^# any pids[ \t]*\n")
    set(any_pids TRUE)
  elseif("${expected}" MATCHES "^# pids[ \t]*\n")
    set(map_pids TRUE)
  endif()  # "# needs python3" and "# runs alone" are for examples/CMakeLists.txt
  # Drop the first line only (REGEX REPLACE would apply "^" again after each replacement).
  string(FIND "${expected}" "\n" newline)
  math(EXPR newline "${newline} + 1")
  string(SUBSTRING "${expected}" ${newline} -1 expected)
endwhile()

if(any_pids)
  string(REGEX REPLACE "(^|[^0-9])[0-9][0-9][0-9]+" "\\1<pid>" actual "${actual}")
endif()

if(map_pids)
  string(REGEX MATCHALL "[0-9][0-9][0-9]+" numbers "${actual}")
  list(REMOVE_DUPLICATES numbers)
  set(index 0)
  foreach(number IN LISTS numbers)
    math(EXPR index "${index} + 1")
    # Whole numbers only: 1234 must not match inside 51234.
    string(REGEX REPLACE "(^|[^0-9])${number}([^0-9]|$)" "\\1<pid${index}>\\2" actual "${actual}")
    string(REGEX REPLACE "(^|[^0-9])${number}([^0-9]|$)" "\\1<pid${index}>\\2" actual "${actual}")
  endforeach()
endif()

set(same FALSE)
if("${mode}" STREQUAL "exact")
  if("${actual}" STREQUAL "${expected}")
    set(same TRUE)
  endif()
else()
  _pyconc_split_lines("${expected}" expected_lines)
  _pyconc_split_lines("${actual}" actual_lines)
  list(SORT expected_lines)
  list(SORT actual_lines)
  if("${actual_lines}" STREQUAL "${expected_lines}")
    set(same TRUE)
  endif()
endif()

set(problems "")
if(NOT "${status}" STREQUAL "0")
  string(APPEND problems "exit status: ${status} (expected 0)\n")
endif()
if(NOT "${errors}" STREQUAL "")
  string(APPEND problems "unexpected output on stderr:\n${errors}\n")
endif()
if(NOT same)
  string(APPEND problems "stdout differs from ${EXPECTED} (${mode} comparison)\n")
  if("${mode}" STREQUAL "exact")
    _pyconc_split_lines("${expected}" expected_lines)
    _pyconc_split_lines("${actual}" actual_lines)
  endif()
  list(LENGTH expected_lines n_expected)
  list(LENGTH actual_lines n_actual)
  set(line 0)
  while(line LESS n_expected OR line LESS n_actual)
    set(want "<no line>")
    set(got "<no line>")
    if(line LESS n_expected)
      list(GET expected_lines ${line} want)
      _pyconc_unescape_line(want)
    endif()
    if(line LESS n_actual)
      list(GET actual_lines ${line} got)
      _pyconc_unescape_line(got)
    endif()
    if(NOT "${want}" STREQUAL "${got}")
      math(EXPR shown "${line} + 1")
      if("${mode}" STREQUAL "unordered")
        string(APPEND problems "first difference at sorted line ${shown}:\n")
      else()
        string(APPEND problems "first difference at line ${shown}:\n")
      endif()
      string(APPEND problems "  expected: ${want}\n  actual:   ${got}\n")
      break()
    endif()
    math(EXPR line "${line} + 1")
  endwhile()
  string(APPEND problems "--- expected ---\n${expected}--- actual ---\n${actual}--- end ---\n")
endif()

string(REPLACE ";" " " shown_command "${command}")
if("${problems}" STREQUAL "")
  message(STATUS "${shown_command}: output matches ${EXPECTED} (${mode})")
else()
  message("${problems}")
  message(FATAL_ERROR "${shown_command}: FAILED")
endif()

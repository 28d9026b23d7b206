# SPDX-License-Identifier: MIT
#
# Driver of the packaging tests (see packaging.cmake): cmake -D STEP=<step> ... -P <this file>
#
#   STEP=install     BUILD_DIR PREFIX INCLUDEDIR CMAKEDIR PCDIR SOURCE_ROOT
#                    Installs BUILD_DIR into a fresh PREFIX and checks that exactly the
#                    headers and the package files land there, with no warning flags.
#   STEP=consumer    PROJECT_DIR WORK CONFIGURE_ARGS (separated by |) EXPECT
#                    Configures, builds and runs the project in PROJECT_DIR (its program is
#                    called `consumer`); its output must match the regex EXPECT.
#   STEP=pkg-config  MAIN WORK PCPATH EXPECT
#                    Compiles MAIN with `pkg-config --cflags --libs pyconc` looked up in
#                    PCPATH only, runs it, matches EXPECT. Skipped when pkg-config is missing.
#
# Always given: CMAKE GENERATOR MAKE_PROGRAM CXX VERSION SOURCE_ROOT.

function(run)
  list(JOIN ARGN " " command_line)
  message(STATUS "$ ${command_line}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

function(run_program program expect)
  message(STATUS "$ ${program}")
  execute_process(COMMAND "${program}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "output: ${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${program} exited with ${rc}")
  endif()
  if(NOT out MATCHES "${expect}")
    message(FATAL_ERROR "${program}: output does not match `${expect}`")
  endif()
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run("${CMAKE}" --install "${BUILD_DIR}" --prefix "${PREFIX}")

  # Every header of the source tree is installed.
  file(GLOB_RECURSE headers RELATIVE "${SOURCE_ROOT}/include" "${SOURCE_ROOT}/include/*.hpp")
  set(missing "")
  foreach(header IN LISTS headers)
    if(NOT EXISTS "${PREFIX}/${INCLUDEDIR}/${header}")
      string(APPEND missing "  ${INCLUDEDIR}/${header}\n")
    endif()
  endforeach()
  foreach(file IN ITEMS "${CMAKEDIR}/pyconcConfig.cmake" "${CMAKEDIR}/pyconcConfigVersion.cmake"
                        "${CMAKEDIR}/pyconcTargets.cmake" "${PCDIR}/pyconc.pc")
    if(NOT EXISTS "${PREFIX}/${file}")
      string(APPEND missing "  ${file}\n")
    endif()
  endforeach()
  if(missing)
    message(FATAL_ERROR "not installed:\n${missing}")
  endif()

  # ...and nothing else: no test, example or benchmark binaries, no stray files.
  file(GLOB_RECURSE installed RELATIVE "${PREFIX}" "${PREFIX}/*")
  set(stray "")
  foreach(file IN LISTS installed)
    if(NOT file MATCHES "^(${INCLUDEDIR}/.*\\.hpp|${CMAKEDIR}/pyconc[A-Za-z-]*\\.cmake|${PCDIR}/pyconc\\.pc)$")
      string(APPEND stray "  ${file}\n")
    endif()
  endforeach()
  if(stray)
    message(FATAL_ERROR "unexpected files installed:\n${stray}")
  endif()

  # The exported target carries the standard and Threads, never pyconc's own warnings.
  file(GLOB target_files "${PREFIX}/${CMAKEDIR}/pyconcTargets*.cmake")
  foreach(file IN LISTS target_files)
    file(READ "${file}" text)
    if(text MATCHES "pyconc_dev_settings|-W[a-z]|-fsanitize")
      message(FATAL_ERROR "${file} exports pyconc's private build settings")
    endif()
  endforeach()
  list(LENGTH headers count)
  message(STATUS "installed ${count} headers and the package files into ${PREFIX}")

elseif(STEP STREQUAL "consumer")
  string(REPLACE "|" ";" configure_args "${CONFIGURE_ARGS}")
  file(REMOVE_RECURSE "${WORK}")
  set(generator_args -G "${GENERATOR}")
  if(MAKE_PROGRAM)
    list(APPEND generator_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  run("${CMAKE}" -S "${PROJECT_DIR}" -B "${WORK}" ${generator_args}
      "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF ${configure_args})
  run("${CMAKE}" --build "${WORK}")
  run_program("${WORK}/consumer" "${EXPECT}")

elseif(STEP STREQUAL "pkg-config")
  find_program(PKG_CONFIG NAMES pkg-config pkgconf)
  if(NOT PKG_CONFIG)
    message("PYCONC-TEST-SKIPPED: pkg-config is not installed")
    return()
  endif()
  # Look in the test prefix only, never in the system's directories.
  set(ENV{PKG_CONFIG_LIBDIR} "${PCPATH}")
  set(ENV{PKG_CONFIG_PATH} "")
  execute_process(COMMAND "${PKG_CONFIG}" --modversion pyconc
                  RESULT_VARIABLE rc OUTPUT_VARIABLE modversion OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR NOT modversion STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config --modversion pyconc: '${modversion}', expected '${VERSION}'")
  endif()
  execute_process(COMMAND "${PKG_CONFIG}" --cflags pyconc
                  RESULT_VARIABLE rc1 OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND "${PKG_CONFIG}" --libs pyconc
                  RESULT_VARIABLE rc2 OUTPUT_VARIABLE libs OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags/--libs pyconc failed")
  endif()
  message(STATUS "pkg-config --cflags pyconc: ${cflags}")
  message(STATUS "pkg-config --libs pyconc: ${libs}")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  file(REMOVE_RECURSE "${WORK}")
  file(MAKE_DIRECTORY "${WORK}")
  run("${CXX}" ${cflags} -DPYCONC_CONSUMER_KIND=pkg-config "${MAIN}" ${libs} -o "${WORK}/consumer")
  run_program("${WORK}/consumer" "${EXPECT}")

else()
  message(FATAL_ERROR "check_package.cmake: unknown STEP '${STEP}'")
endif()

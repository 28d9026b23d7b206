# SPDX-License-Identifier: MIT
#
# Included from tests/CMakeLists.txt. Registers the packaging tests (label "packaging"),
# each of which drives check_package.cmake:
#
#   packaging.install          `cmake --install` this build tree into
#                              <build>/tests/install-prefix and check what lands there
#   packaging.find_package     tests/cmake/find_package against that prefix
#   packaging.pkg_config       compile tests/cmake/consumer.cpp with the flags from
#                              `pkg-config --cflags --libs pyconc` (skipped without pkg-config)
#   packaging.build_tree       tests/cmake/find_package against this build tree (pyconc_DIR)
#   packaging.add_subdirectory tests/cmake/add_subdirectory with pyconc's source tree
#   packaging.fetch_content    tests/cmake/fetch_content with pyconc's source tree
#
# They configure and build small projects, so they take longer than unit tests and are left
# out of the sanitizer runs (`ctest -LE packaging`).

set(pyconc_pkg_script "${CMAKE_CURRENT_LIST_DIR}/check_package.cmake")
set(pyconc_pkg_work "${PROJECT_BINARY_DIR}/tests/packaging")
set(pyconc_pkg_prefix "${PROJECT_BINARY_DIR}/tests/install-prefix")
set(pyconc_pkg_version "${PROJECT_VERSION}")

# What every consumer build shares with this one: generator, make program, compiler.
set(pyconc_pkg_common
  -D "CMAKE=${CMAKE_COMMAND}"
  -D "GENERATOR=${CMAKE_GENERATOR}"
  -D "MAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
  -D "CXX=${CMAKE_CXX_COMPILER}"
  -D "VERSION=${pyconc_pkg_version}"
  -D "SOURCE_ROOT=${PROJECT_SOURCE_DIR}")

function(pyconc_packaging_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ARGS;PROPERTIES")
  add_test(NAME packaging.${name}
           COMMAND "${CMAKE_COMMAND}" ${pyconc_pkg_common} ${arg_ARGS} -P "${pyconc_pkg_script}")
  set_tests_properties(packaging.${name} PROPERTIES
    TIMEOUT ${PYCONC_PACKAGING_TIMEOUT} LABELS packaging
    SKIP_REGULAR_EXPRESSION "PYCONC-TEST-SKIPPED" ${arg_PROPERTIES})
endfunction()

# Consumer output, e.g. "pyconc 0.1.0 via find_package: 4 threads counted 4000".
set(pyconc_pkg_counted "pyconc ${pyconc_pkg_version} via [a-z_-]+: 4 threads counted 4000")

if(PYCONC_INSTALL)
  pyconc_packaging_test(install
    ARGS -D STEP=install
         -D "BUILD_DIR=${PROJECT_BINARY_DIR}"
         -D "PREFIX=${pyconc_pkg_prefix}"
         -D "INCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}"
         -D "CMAKEDIR=${PYCONC_CMAKE_INSTALL_DIR}"
         -D "PCDIR=${PYCONC_PKGCONFIG_INSTALL_DIR}"
    PROPERTIES FIXTURES_SETUP pyconc_installed)

  pyconc_packaging_test(find_package
    ARGS -D STEP=consumer
         -D "PROJECT_DIR=${CMAKE_CURRENT_LIST_DIR}/find_package"
         -D "WORK=${pyconc_pkg_work}/find_package"
         -D "CONFIGURE_ARGS=-DCMAKE_PREFIX_PATH=${pyconc_pkg_prefix}|-DPYCONC_EXPECTED_VERSION=${pyconc_pkg_version}|-DPYCONC_CONSUMER_KIND=find_package"
         -D "EXPECT=${pyconc_pkg_counted}"
    PROPERTIES FIXTURES_REQUIRED pyconc_installed)

  pyconc_packaging_test(pkg_config
    ARGS -D STEP=pkg-config
         -D "MAIN=${CMAKE_CURRENT_LIST_DIR}/consumer.cpp"
         -D "WORK=${pyconc_pkg_work}/pkg_config"
         -D "PCPATH=${pyconc_pkg_prefix}/${PYCONC_PKGCONFIG_INSTALL_DIR}"
         -D "EXPECT=${pyconc_pkg_counted}"
    PROPERTIES FIXTURES_REQUIRED pyconc_installed)

  pyconc_packaging_test(build_tree
    ARGS -D STEP=consumer
         -D "PROJECT_DIR=${CMAKE_CURRENT_LIST_DIR}/find_package"
         -D "WORK=${pyconc_pkg_work}/build_tree"
         -D "CONFIGURE_ARGS=-Dpyconc_DIR=${PROJECT_BINARY_DIR}|-DPYCONC_EXPECTED_VERSION=${pyconc_pkg_version}|-DPYCONC_CONSUMER_KIND=build_tree"
         -D "EXPECT=${pyconc_pkg_counted}")
endif()

pyconc_packaging_test(add_subdirectory
  ARGS -D STEP=consumer
       -D "PROJECT_DIR=${CMAKE_CURRENT_LIST_DIR}/add_subdirectory"
       -D "WORK=${pyconc_pkg_work}/add_subdirectory"
       -D "CONFIGURE_ARGS=-DPYCONC_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
       -D "EXPECT=${pyconc_pkg_counted}")

pyconc_packaging_test(fetch_content
  ARGS -D STEP=consumer
       -D "PROJECT_DIR=${CMAKE_CURRENT_LIST_DIR}/fetch_content"
       -D "WORK=${pyconc_pkg_work}/fetch_content"
       -D "CONFIGURE_ARGS=-DFETCHCONTENT_SOURCE_DIR_PYCONC=${PROJECT_SOURCE_DIR}|-DFETCHCONTENT_FULLY_DISCONNECTED=ON"
       -D "EXPECT=${pyconc_pkg_counted}")

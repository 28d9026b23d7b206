// SPDX-License-Identifier: MIT
/**
`pyconc/version.hpp` — the one place the version of pyconc lives.

CMake reads `PYCONC_VERSION_MAJOR`, `PYCONC_VERSION_MINOR` and `PYCONC_VERSION_PATCH` from
this file, so the package version and the header can never disagree.
*/
#ifndef PYCONC_VERSION_HPP_INCLUDED
#define PYCONC_VERSION_HPP_INCLUDED

#define PYCONC_VERSION_MAJOR 0
#define PYCONC_VERSION_MINOR 1
#define PYCONC_VERSION_PATCH 0

/** The version as one integer: `major * 10000 + minor * 100 + patch`. */
#define PYCONC_VERSION (PYCONC_VERSION_MAJOR * 10000 + PYCONC_VERSION_MINOR * 100 + PYCONC_VERSION_PATCH)

#endif  // PYCONC_VERSION_HPP_INCLUDED

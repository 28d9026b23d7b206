// SPDX-License-Identifier: MIT
/**
`pyconc.hpp` — everything pyconc offers, in one include.

A convenience: including the module headers you use (`<pyconc/threading.hpp>`, ...)
compiles faster.
*/
#ifndef PYCONC_HPP_INCLUDED
#define PYCONC_HPP_INCLUDED

#include <pyconc/builtins.hpp>
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/gil.hpp>
#include <pyconc/multiprocessing.hpp>
#include <pyconc/os.hpp>
#include <pyconc/pickle.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>
#include <pyconc/version.hpp>

#endif  // PYCONC_HPP_INCLUDED

//===- ErrorOf.h - The message a call throws, for the unit tests ----------===//
//
// Shared by the tests that compare whole error messages (RanksTest.cpp,
// RendezvousTest.cpp): errorOf(f) runs f and returns the sparta::Error it
// threw, or "" when it returned (a test expecting a message then fails on it).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Error.h"

#include <string>

namespace sparta::testing {

template <typename F> std::string errorOf(F &&f) {
  try {
    f();
  } catch (const sparta::Error &e) {
    return e.what();
  }
  return "";
}

} // namespace sparta::testing

//===- SpartaDialect.cpp - Dialect registration and TableGen'd bodies ------===//
//
// Registers the ops (pattern and plan), the mask type and the attributes
// (expression and plan), and holds the generated definitions of the type,
// attribute and enum classes.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/SpartaOps.h"
#include "sparta/Dialect/SpartaPlanOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sparta;

#include "sparta/Dialect/SpartaDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "sparta/Dialect/SpartaTypes.cpp.inc"

#include "sparta/Dialect/SpartaEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "sparta/Dialect/SpartaAttrs.cpp.inc"

void SpartaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "sparta/Dialect/SpartaOps.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "sparta/Dialect/SpartaPlanOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "sparta/Dialect/SpartaTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "sparta/Dialect/SpartaAttrs.cpp.inc"
      >();
}

# Finds Debian's LLVM/MLIR 22 and rewires MLIR's imported targets to link LLVM
# statically. Debian builds MLIR's CMake targets against the shared libLLVM.so;
# binaries built that way only run where that exact libLLVM is installed. Linking
# LLVMSupport (a static archive) instead makes libsparta depend only on libc,
# libstdc++, zlib/zstd, the CUDA driver and NVRTC, so the install tree runs on the
# GPU machine, which has no LLVM.
set(SPARTA_LLVM_ROOT "/usr/lib/llvm-22" CACHE PATH "Root of the LLVM/MLIR 22 installation")
find_package(MLIR REQUIRED CONFIG PATHS "${SPARTA_LLVM_ROOT}/lib/cmake/mlir" NO_DEFAULT_PATH)
message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
include(TableGen)
include(AddLLVM)
include(AddMLIR)

# LLVMSupport's own dependencies: zlib and zstd as the system's shared
# libraries (present on every Linux; Debian's archives of them are not
# position-independent, so they cannot go into libsparta.so), and no z3 (only
# LLVM's constraint solver uses it, and nothing here links that).
find_library(SPARTA_ZLIB z REQUIRED)
find_library(SPARTA_ZSTD zstd REQUIRED)
set_target_properties(LLVMSupport PROPERTIES
  INTERFACE_LINK_LIBRARIES "rt;dl;m;${SPARTA_ZLIB};${SPARTA_ZSTD};LLVMDemangle")

# Replace the shared "LLVM" entry of every imported MLIR target with LLVMSupport.
get_property(_sparta_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
foreach(_target IN LISTS _sparta_imported)
  if(_target MATCHES "^MLIR")
    get_target_property(_libs ${_target} INTERFACE_LINK_LIBRARIES)
    if(_libs)
      list(TRANSFORM _libs REPLACE "^LLVM$" "LLVMSupport")
      set_target_properties(${_target} PROPERTIES INTERFACE_LINK_LIBRARIES "${_libs}")
    endif()
  endif()
endforeach()
# MLIRRemarkStreamer (pulled in by MLIROptLib) needs LLVM's remark serializers,
# which the shared libLLVM provided and LLVMSupport does not.
if(TARGET MLIRRemarkStreamer)
  set_property(TARGET MLIRRemarkStreamer APPEND PROPERTY INTERFACE_LINK_LIBRARIES LLVMRemarks)
endif()

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
separate_arguments(_llvm_defs NATIVE_COMMAND ${LLVM_DEFINITIONS})
add_definitions(${_llvm_defs})

"""libsparta-c loaded through ctypes: the library search and the signatures of sparta_c.h.

The package carries no compiled code of its own, so one copy runs under any
Python 3 (Debian's 3.11 on the development machine, 3.12 with PyTorch on a GPU
machine) next to a libsparta-c built once. The library is looked up in order:

  $SPARTA_LIBRARY                       an explicit path (the build tree's tests);
                                        when set, the only one tried
  <package>/lib/libsparta-c.so.0        a wheel built by `pip install .`
  <package>/../../lib/libsparta-c.so.0  an install tree (<prefix>/python/sparta)
"""

import ctypes
import os
import threading

_LIBRARY_NAME = "libsparta-c.so.0"
_C_API_VERSION = 2


class SpartaError(Exception):
    """A user error reported by sparta; the message is sparta's own (pattern
    files: "file:line:col: error: ..." followed by the source line)."""


# struct sparta_tensor of sparta_c.h: uint64 data, then int64 B, H, T, d,
# stride_b, stride_h, stride_t; 8 fields of 8 bytes. A record's fields are
# held as one uint64 array (the int64 fields are never negative here).
TENSOR_FIELDS = 8
TENSOR_BYTES = 8 * TENSOR_FIELDS


class TensorRecords:
    """sparta_tensor records (8-tuples of fields) in one buffer, for one call:
    `addresses` holds each record's address. Keep the object alive for the
    call; libsparta reads the records only during it."""

    def __init__(self, records):
        self._fields = (ctypes.c_uint64 * (TENSOR_FIELDS * len(records)))(
            *[field for record in records for field in record])
        base = ctypes.addressof(self._fields)
        self.addresses = [base + i * TENSOR_BYTES for i in range(len(records))]

    def set_data(self, *pointers):
        """Replaces the records' data pointers (one per record, in order)."""
        for i, pointer in enumerate(pointers):
            self._fields[i * TENSOR_FIELDS] = pointer


class RecordSet:
    """The records of one call signature, of which only the data pointers
    change from call to call: each thread builds its own TensorRecords once
    and then writes just the pointers, which costs less host time than
    building the records again."""

    def __init__(self, records):
        self._records = records
        self._local = threading.local()

    def addresses(self, *pointers):
        """This thread's records with these data pointers; their addresses."""
        records = getattr(self._local, "records", None)
        if records is None:
            records = self._local.records = TensorRecords(self._records)
        records.set_data(*pointers)
        return records.addresses


def _package_dir():
    return os.path.dirname(os.path.abspath(__file__))


def library_candidates():
    """The paths tried, in order."""
    if os.environ.get("SPARTA_LIBRARY"):
        return [os.environ["SPARTA_LIBRARY"]]
    paths = []
    here = _package_dir()
    paths.append(os.path.join(here, "lib", _LIBRARY_NAME))
    paths.append(os.path.normpath(os.path.join(here, "..", "..", "lib", _LIBRARY_NAME)))
    return paths


def patterns_dir():
    """The folder of the shipped pattern files (share/sparta/patterns of the
    tree the library came from), or None. Bare names given to Pattern are
    resolved there by the library itself."""
    if os.environ.get("SPARTA_PATTERNS_DIR"):
        return os.environ["SPARTA_PATTERNS_DIR"]
    here = _package_dir()
    for candidate in (os.path.join(here, "share", "sparta", "patterns"),
                      os.path.normpath(os.path.join(here, "..", "..", "share", "sparta", "patterns"))):
        if os.path.isdir(candidate):
            return candidate
    return None


_lib = None
_lock = threading.Lock()


def _declare(lib):
    c_int, c_char_p, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    pattern_p, attention_p = c_void_p, c_void_p
    out_string = ctypes.POINTER(c_void_p)
    tensor_p = c_void_p   # the address of a sparta_tensor record (TensorRecords)
    signatures = {
        "sparta_c_api_version": (c_int, []),
        "sparta_version": (c_char_p, []),
        "sparta_last_error": (c_char_p, []),
        "sparta_string_free": (None, [c_void_p]),
        "sparta_pattern_load": (c_int, [c_char_p, c_char_p, c_char_p, c_char_p,
                                        ctypes.POINTER(c_char_p), ctypes.POINTER(ctypes.c_int64),
                                        c_int, ctypes.POINTER(c_void_p)]),
        "sparta_pattern_free": (None, [pattern_p]),
        "sparta_pattern_info": (c_int, [pattern_p, out_string]),
        "sparta_pattern_check": (c_int, [pattern_p, c_int, c_int, c_int, out_string]),
        "sparta_pattern_mask": (c_int, [pattern_p, c_int, c_void_p, ctypes.c_int64]),
        "sparta_pattern_mask_bits": (c_int, [pattern_p, c_int, c_void_p, ctypes.c_int64]),
        "sparta_pattern_emit": (c_int, [pattern_p, c_char_p, c_int, c_char_p, c_char_p, c_int,
                                        out_string]),
        "sparta_cuda_available": (c_int, [out_string]),
        "sparta_attention_create": (c_int, [pattern_p, c_int, c_char_p, ctypes.c_float, c_int,
                                            c_int, c_char_p, ctypes.POINTER(c_void_p)]),
        "sparta_attention_free": (None, [attention_p]),
        "sparta_attention_workspace_bytes": (c_int, [attention_p, c_int, ctypes.c_int64,
                                                     ctypes.c_int64, ctypes.c_int64,
                                                     ctypes.POINTER(ctypes.c_uint64)]),
        "sparta_attention_forward": (c_int, [attention_p, tensor_p, tensor_p, tensor_p, tensor_p,
                                             ctypes.c_uint64, c_void_p, ctypes.c_uint64,
                                             ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int64]),
        "sparta_attention_backward": (c_int, [attention_p, tensor_p, tensor_p, tensor_p, tensor_p,
                                              ctypes.c_uint64, tensor_p, tensor_p, tensor_p,
                                              tensor_p, c_void_p, ctypes.c_uint64,
                                              ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int64]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def lib():
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            tried = []
            for path in library_candidates():
                if not os.path.exists(path):
                    tried.append(f"{path} (no such file)")
                    continue
                try:
                    loaded = ctypes.CDLL(path)
                except OSError as e:
                    tried.append(f"{path} ({e})")
                    continue
                _declare(loaded)
                version = loaded.sparta_c_api_version()
                if version != _C_API_VERSION:
                    raise SpartaError(f"{path} implements the C interface version {version}; "
                                      f"this package needs {_C_API_VERSION}")
                _lib = loaded
                break
            else:
                raise SpartaError("cannot find libsparta-c; tried:\n  " + "\n  ".join(tried)
                                  + "\nset SPARTA_LIBRARY to its path")
    return _lib


def check(status):
    """Raises SpartaError with sparta's message when a call failed."""
    if status != 0:
        raise SpartaError(lib().sparta_last_error().decode("utf-8", "replace"))


def take_string(pointer):
    """A string returned through char **, released."""
    try:
        return ctypes.string_at(pointer).decode("utf-8", "replace")
    finally:
        lib().sparta_string_free(pointer)


def call_string(function, *args):
    """Calls a function whose last parameter is char ** and returns that string."""
    out = ctypes.c_void_p()
    check(function(*args, ctypes.byref(out)))
    return take_string(out)


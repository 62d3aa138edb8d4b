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
import struct
import threading

_LIBRARY_NAME = "libsparta-c.so.0"
_C_API_VERSION = 1


class SpartaError(Exception):
    """A user error reported by sparta; the message is sparta's own (pattern
    files: "file:line:col: error: ..." followed by the source line)."""


# struct sparta_tensor of sparta_c.h: data, B, H, T, d, stride_b, stride_h,
# stride_t. The operator packs its tensors' records into one buffer with
# struct (one call) rather than building a ctypes.Structure per tensor: on the
# host path of every attention call that is the difference of microseconds.
TENSOR_RECORD = struct.Struct("<Q7q")
_FIELDS = 8
_MAX_RECORDS = 8                      # a backward call passes 8 tensors
_PACKERS = [struct.Struct("<" + "Q7q" * n) for n in range(_MAX_RECORDS + 1)]
_records = threading.local()


def pack_tensors(fields):
    """Packs sparta_tensor records, given as one flat tuple of their fields
    (8 per tensor, see TENSOR_RECORD), into this thread's buffer and returns
    the address of each record. The buffer is reused by the thread's next
    call: libsparta reads the records only during the call they are passed to."""
    count = len(fields) // _FIELDS
    buffer = getattr(_records, "buffer", None)
    if buffer is None:
        buffer = _records.buffer = ctypes.create_string_buffer(TENSOR_RECORD.size * _MAX_RECORDS)
        _records.base = ctypes.addressof(buffer)
    _PACKERS[count].pack_into(buffer, 0, *fields)
    base, size = _records.base, TENSOR_RECORD.size
    return [base + i * size for i in range(count)]


class RecordSet:
    """The sparta_tensor records of one call signature, of which only the
    data pointers change from call to call: each thread fills its own copy of
    the records once and then writes just the pointers (cheaper on the host
    than packing the records again; libsparta reads them only during the
    call they are passed to)."""

    def __init__(self, records):
        self._template = [field for record in records for field in record]
        self._count = len(records)
        self._local = threading.local()

    def addresses(self, *data):
        """Sets the records' data pointers (one per record, in order) and
        returns the address of each record."""
        local = self._local
        fields = getattr(local, "fields", None)
        if fields is None:
            fields = local.fields = (ctypes.c_uint64 * len(self._template))(*self._template)
            base = ctypes.addressof(fields)
            local.addresses = [base + i * TENSOR_RECORD.size for i in range(self._count)]
        for i, pointer in enumerate(data):
            fields[i * _FIELDS] = pointer
        return local.addresses


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
    tensor_p = c_void_p   # the address of a packed sparta_tensor record (pack_tensors)
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
                                             ctypes.c_uint64]),
        "sparta_attention_backward": (c_int, [attention_p, tensor_p, tensor_p, tensor_p, tensor_p,
                                              ctypes.c_uint64, tensor_p, tensor_p, tensor_p,
                                              tensor_p, c_void_p, ctypes.c_uint64,
                                              ctypes.c_uint64]),
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


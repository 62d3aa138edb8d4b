"""The C interface's tensor records as the operator builds them (sparta_c.h's
struct sparta_tensor: uint64 data, then seven int64)."""

import ctypes
import struct
import threading

from sparta import _capi

SPARTA_TENSOR = struct.Struct("<Q7q")   # the C struct, written out independently


def read_record(address):
    return SPARTA_TENSOR.unpack(ctypes.string_at(address, SPARTA_TENSOR.size))


def test_record_is_the_c_struct():
    assert _capi.TENSOR_BYTES == SPARTA_TENSOR.size


def test_records_round_trip():
    records = [(0xFFFF_0000_0000_1000 + i, 2, 8, 4096, 64, (1 << 40) + i, 4096 * 64, 64)
               for i in range(8)]
    built = _capi.TensorRecords(records)
    addresses = built.addresses
    assert len(addresses) == 8
    assert [b - a for a, b in zip(addresses, addresses[1:])] == [SPARTA_TENSOR.size] * 7
    assert [read_record(a) for a in addresses] == records


def test_record_set_replaces_only_the_data_pointers():
    template = [(0, 2, 8, 512, 64, 262144, 32768, 64), (0, 2, 4, 512, 64, 131072, 32768, 64)]
    records = _capi.RecordSet(template)
    first = records.addresses(16, 32)
    assert [read_record(a) for a in first] == [(16,) + template[0][1:], (32,) + template[1][1:]]
    second = records.addresses(48, 64)
    assert second == first                                   # this thread's buffer, reused
    assert [read_record(a)[0] for a in second] == [48, 64]
    other = []
    thread = threading.Thread(target=lambda: other.extend(records.addresses(80, 96)))
    thread.start()
    thread.join()
    assert other != first                                    # another thread has its own
    assert [read_record(a)[0] for a in first] == [48, 64]

"""The C interface's tensor records as the operator packs them (sparta_c.h's
struct sparta_tensor: uint64 data, then seven int64)."""

import ctypes

from sparta import _capi


def read_record(address):
    return _capi.TENSOR_RECORD.unpack(ctypes.string_at(address, _capi.TENSOR_RECORD.size))


def test_record_is_the_c_struct():
    assert _capi.TENSOR_RECORD.size == 8 * 8


def test_pack_tensors_round_trip():
    records = [(0xFFFF_0000_0000_1000 + i, 2, 8, 4096, 64, -(1 << 40) + i, 4096 * 64, 64)
               for i in range(8)]
    addresses = _capi.pack_tensors(sum(records, ()))
    assert len(addresses) == 8
    assert [b - a for a, b in zip(addresses, addresses[1:])] == [_capi.TENSOR_RECORD.size] * 7
    assert [read_record(a) for a in addresses] == records


def test_pack_tensors_reuses_the_thread_buffer():
    first = _capi.pack_tensors((1, 1, 1, 1, 32, 0, 0, 0))
    second = _capi.pack_tensors((2, 1, 1, 1, 64, 0, 0, 0))
    assert first == second
    assert read_record(second[0])[0] == 2

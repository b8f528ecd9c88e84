"""Philox4x32-10: Random123's known answers, compiled kernel == NumPy twin, argument checks."""

import numpy as np
import pytest

from fastinit.random import _philox_np, philox4x32
from tests.conftest import NUMBA

# Random123 tests/kat_vectors, "philox4x32 10" lines: counter[4], key[2] -> output[4].
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def _modules():
    mods = [_philox_np]
    if NUMBA:
        from fastinit.random import _philox

        mods.append(_philox)
    return mods


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_known_answers_public(counter, key, expected):
    out = philox4x32(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert out.dtype == np.uint32
    assert tuple(int(w) for w in out) == expected


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_known_answers_each_implementation(module):
    ctr = np.array([k[0] for k in KAT], np.uint32)
    key = np.array([k[1] for k in KAT], np.uint32)
    out = np.empty((3, 4), np.uint32)
    module.blocks(ctr, key, out)
    assert out.tolist() == [list(k[2]) for k in KAT]


@pytest.mark.parametrize("n", [1, 7, 40_000])  # 40_000 rows take the parallel kernel
def test_kernel_equals_twin(n):
    rng = np.random.default_rng(n)
    ctr = rng.integers(0, 2**32, size=(n, 4), dtype=np.uint32)
    key = rng.integers(0, 2**32, size=(n, 2), dtype=np.uint32)
    got = philox4x32(ctr, key)
    ref = np.empty_like(got)
    _philox_np.blocks(ctr, key, ref)
    assert np.array_equal(got, ref)


def test_broadcasting_and_shapes():
    ctr = np.arange(24, dtype=np.uint32).reshape(2, 3, 4)
    key = np.array([5, 6], np.uint32)
    out = philox4x32(ctr, key)
    assert out.shape == (2, 3, 4)
    assert np.array_equal(out[1, 2], philox4x32(ctr[1, 2], key))
    assert philox4x32(np.zeros((0, 4), np.uint32), key).shape == (0, 4)
    # Python ints in range are accepted
    assert np.array_equal(philox4x32([0, 0, 0, 0], [0, 0]), np.array(KAT[0][2], np.uint32))


def test_counter_changes_every_word():
    a = philox4x32([0, 0, 0, 0], [1, 2])
    b = philox4x32([1, 0, 0, 0], [1, 2])
    assert np.all(a != b)


@pytest.mark.parametrize(
    "counter,key,exc,match",
    [
        (np.zeros(4, np.float32), [0, 0], TypeError, "counter must be an array of unsigned 32-bit"),
        (np.zeros(3, np.uint32), [0, 0], ValueError, r"counter must have shape \(\.\.\., 4\)"),
        ([0, 0, 0, 2**32], [0, 0], ValueError, r"counter values must be in \[0, 2\*\*32\)"),
        ([0, 0, 0, -1], [0, 0], ValueError, "counter values"),
        ([0, 0, 0, 0], [0, 0, 0], ValueError, r"key must have shape \(\.\.\., 2\)"),
        ([0, 0, 0, 0], [True, False], TypeError, "key must be an array"),
    ],
)
def test_bad_arguments(counter, key, exc, match):
    with pytest.raises(exc, match=match):
        philox4x32(counter, key)

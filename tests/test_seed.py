"""Seeds, keys, fresh entropy and child seeds."""

import numpy as np
import pytest

import fastinit
from fastinit.random import check_stream, child_seed, fresh_seed, last_seed, seed_to_key, spawn


def test_int_seed_is_the_key():
    assert seed_to_key(0) == (0, 0)
    assert seed_to_key(2**32 + 5) == (5, 1)
    assert seed_to_key(2**64 - 1) == (2**32 - 1, 2**32 - 1)
    assert seed_to_key(np.uint64(7)) == (7, 0)


def test_seed_sequence_key():
    ss = np.random.SeedSequence(1234)
    assert seed_to_key(ss) == tuple(int(w) for w in ss.generate_state(2, np.uint32))
    a = fastinit.normal(10, seed=np.random.SeedSequence(1234))
    k0, k1 = seed_to_key(ss)
    assert np.array_equal(a, fastinit.normal(10, seed=k0 | (k1 << 32)))


def test_none_draws_fresh_entropy_that_can_be_read_back():
    a = fastinit.uniform(16)
    used = last_seed()
    assert isinstance(used, int) and 0 <= used < 2**64
    assert np.array_equal(a, fastinit.uniform(16, seed=used))
    b = fastinit.uniform(16)
    assert last_seed() != used and not np.array_equal(a, b)
    s = fresh_seed()
    assert s == last_seed()


@pytest.mark.parametrize(
    "seed,exc,match",
    [
        (-1, ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
        (2**64, ValueError, "seed must be in"),
        (True, TypeError, "seed must be an int .* got True of type bool"),
        (1.0, TypeError, "got 1.0 of type float"),
        ("1", TypeError, "of type str"),
        (np.random.default_rng(0), TypeError, "of type Generator"),
    ],
)
def test_bad_seed(seed, exc, match):
    with pytest.raises(exc, match=match):
        seed_to_key(seed)
    with pytest.raises(exc, match=match):
        fastinit.normal(4, seed=seed)


@pytest.mark.parametrize(
    "stream,exc,match",
    [(-1, ValueError, r"stream must be in \[0, 2\*\*32\)"), (2**32, ValueError, "stream must be in"),
     (False, TypeError, "stream must be an int"), (0.0, TypeError, "of type float")],
)
def test_bad_stream(stream, exc, match):
    with pytest.raises(exc, match=match):
        check_stream(stream)
    with pytest.raises(exc, match=match):
        fastinit.uniform(4, seed=0, stream=stream)


def test_child_seeds_are_deterministic_and_distinct():
    kids = spawn(99, 50)
    assert kids == spawn(99, 50)
    assert len(set(kids)) == 50 and 99 not in kids
    assert child_seed(99, 3) == kids[3]
    assert child_seed(99, "encoder") == child_seed(99, "encoder")
    assert len({child_seed(99, "encoder"), child_seed(99, "decoder"), child_seed(99, 0),
                child_seed(98, "encoder"), child_seed(99, "encoder", 0)}) == 5
    assert all(0 <= k < 2**64 for k in kids)
    assert spawn(1, 0) == []


def test_child_streams_are_uncorrelated():
    n = 1 << 16
    a = fastinit.normal(n, seed=child_seed(5, 0), dtype=np.float64)
    b = fastinit.normal(n, seed=child_seed(5, 1), dtype=np.float64)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(n)


@pytest.mark.parametrize(
    "args,exc,match",
    [((1,), ValueError, "at least one id or name"), ((1, -2), ValueError, "child ids must be in"),
     ((1, 1.5), TypeError, "child ids must be ints"), ((1, True), TypeError, "child ids must be ints")],
)
def test_child_seed_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        child_seed(*args)


def test_spawn_errors():
    with pytest.raises(ValueError, match="n must be non-negative, got -1"):
        spawn(0, -1)
    with pytest.raises(TypeError, match="n must be a non-negative int"):
        spawn(0, 2.0)


def test_no_global_random_state_is_touched():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    import random

    random.seed(5)
    py_before = random.getstate()
    fastinit.normal(1000, seed=1)
    fastinit.uniform(1000)  # fresh entropy comes from the OS, not from numpy or random
    spawn(3, 4)
    assert np.array_equal(np.random.get_state()[1], before)
    assert random.getstate() == py_before

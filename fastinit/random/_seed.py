"""Seeds to Philox keys, fresh entropy, and child seeds derived by integer id or by name."""

from __future__ import annotations

import hashlib
import numbers
import secrets
import threading

import numpy as np

SEED_LIMIT = 1 << 64
STREAM_LIMIT = 1 << 32
#: The most child seeds :func:`spawn` returns in one list.
SPAWN_LIMIT = 1 << 32

_last = threading.local()


def fresh_seed() -> int:
    """Draw a new seed in ``[0, 2**64)`` from the operating system's entropy.

    The value is also remembered for this thread, see :func:`last_seed`.

    Examples
    --------
    >>> s = fresh_seed()
    >>> 0 <= s < 2**64 and s == last_seed()
    True
    """
    seed = secrets.randbits(64)
    _last.seed = seed
    return seed


def last_seed() -> int | None:
    """The seed most recently drawn in this thread for ``seed=None`` (``None`` if there was none).

    Pass it back as ``seed=`` to repeat a run that used fresh entropy.
    """
    return getattr(_last, "seed", None)


def _describe(value: object) -> str:
    return f"{value!r} of type {type(value).__name__}"


def seed_to_key(seed: int | np.random.SeedSequence | None) -> tuple[int, int]:
    """Map a seed to the Philox key ``(k0, k1)``, two integers in ``[0, 2**32)``.

    An int seed ``s`` is used as it is: ``k0 = s mod 2**32``, ``k1 = s // 2**32``.  A
    :class:`numpy.random.SeedSequence` gives ``k0, k1 = seq.generate_state(2, uint32)``.  ``None``
    draws a fresh seed (see :func:`fresh_seed`; read it back with :func:`last_seed`).

    Raises
    ------
    TypeError
        For a bool, a float or any other type.
    ValueError
        For an int outside ``[0, 2**64)``.

    Examples
    --------
    >>> seed_to_key(2**32 + 5)
    (5, 1)
    """
    if type(seed) is int and 0 <= seed < SEED_LIMIT:
        return seed & 0xFFFFFFFF, seed >> 32  # the common case, checked cheaply
    if seed is None:
        seed = fresh_seed()
    if isinstance(seed, np.random.SeedSequence):
        k0, k1 = seed.generate_state(2, np.uint32)
        return int(k0), int(k1)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            "seed must be an int in [0, 2**64), a numpy.random.SeedSequence or None, "
            f"got {_describe(seed)}"
        )
    seed = int(seed)
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed & 0xFFFFFFFF, seed >> 32


def check_stream(stream: int) -> int:
    """Validate a stream id: an int in ``[0, 2**32)``."""
    if type(stream) is int and 0 <= stream < STREAM_LIMIT:
        return stream  # the common case, checked cheaply
    if isinstance(stream, (bool, np.bool_)) or not isinstance(stream, numbers.Integral):
        raise TypeError(f"stream must be an int in [0, 2**32), got {_describe(stream)}")
    stream = int(stream)
    if not 0 <= stream < STREAM_LIMIT:
        raise ValueError(f"stream must be in [0, 2**32), got {stream}")
    return stream


def _path_word(part: int | str) -> int:
    if isinstance(part, str):
        # Names map to 128-bit words; ints stay below 2**64, so a name never equals an id.
        return (1 << 127) | int.from_bytes(hashlib.sha256(part.encode()).digest()[:16], "little")
    if isinstance(part, (bool, np.bool_)) or not isinstance(part, numbers.Integral):
        raise TypeError(f"child ids must be ints >= 0 or str, got {_describe(part)}")
    if not 0 <= int(part) < SEED_LIMIT:
        raise ValueError(f"child ids must be in [0, 2**64), got {int(part)}")
    return int(part)


def child_seed(seed: int | np.random.SeedSequence | None, *path: int | str) -> int:
    """Derive an independent seed from ``seed`` and a path of integer ids and/or names.

    The parent's key is the entropy of a :class:`numpy.random.SeedSequence` whose ``spawn_key`` is
    the path (names hashed with SHA-256), so children are independent of each other and of the
    parent in the same way as ``SeedSequence.spawn`` children are.

    Examples
    --------
    >>> a = child_seed(42, "encoder", 3)
    >>> a == child_seed(42, "encoder", 3) and a != child_seed(42, "encoder", 4)
    True
    """
    if not path:
        raise ValueError("child_seed needs at least one id or name after the seed")
    k0, k1 = seed_to_key(seed)
    words = tuple(_path_word(p) for p in path)
    seq = np.random.SeedSequence(entropy=k0 | (k1 << 32), spawn_key=words)
    c0, c1 = seq.generate_state(2, np.uint32)
    return int(c0) | (int(c1) << 32)


def spawn(seed: int | np.random.SeedSequence | None, n: int) -> list[int]:
    """Return ``n`` independent child seeds of ``seed``: ``[child_seed(seed, i) for i in range(n)]``.

    Examples
    --------
    >>> len(set(spawn(7, 4)))
    4
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be a non-negative int, got {_describe(n)}")
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if n > SPAWN_LIMIT:  # refused at once rather than filling memory for minutes
        raise ValueError(f"n must be at most 2**32 (that many seeds need over 100 GiB), got {n}")
    if seed is None:
        seed = fresh_seed()
    return [child_seed(seed, i) for i in range(int(n))]

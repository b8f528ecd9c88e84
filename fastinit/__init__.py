"""fastinit: fast, seeded, shardable weight initialization and variance diagnostics.

Every random fill is a pure function of (seed, stream, element index): the same bits for any
thread count, machine or sharding.  See ``docs/`` for the stream specification and the API.
"""

from . import random
from ._jit import BACKEND
from .distributions import normal, truncated_normal, uniform

__version__ = "0.1.0"

__all__ = ["BACKEND", "normal", "random", "truncated_normal", "uniform"]

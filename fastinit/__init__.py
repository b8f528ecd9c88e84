"""fastinit: fast, seeded, shardable weight initialization and variance diagnostics.

Every random fill is a pure function of (seed, stream, element index): the same bits for any
thread count, machine or sharding.  See ``docs/`` for the stream specification and the API.
"""

from . import diagnostics, initializers, random
from ._jit import BACKEND
from .diagnostics import *  # noqa: F403 - the public names are listed in diagnostics.__all__
from .distributions import normal, truncated_normal, uniform
from .initializers import *  # noqa: F403 - the public names are listed in initializers.__all__

__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "normal",
    "random",
    "truncated_normal",
    "uniform",
    *initializers.__all__,
    *diagnostics.__all__,
]

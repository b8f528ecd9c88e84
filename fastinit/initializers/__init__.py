"""Weight initializers: fans and gains, variance_scaling and its one-liners, and the rest.

Every random initializer is a base fill (:func:`fastinit.uniform`, :func:`fastinit.normal`,
:func:`fastinit.truncated_normal`) with a scale computed from the shape, so it is seeded,
shardable (``region=``) and thread-count independent like them.  One module per family:

* ``_fans``: :func:`compute_fans` and the torch / keras layouts;
* ``_gains``: :func:`calculate_gain` (torch's table);
* ``_variance_scaling``: :func:`variance_scaling`, the one general rule;
* ``_schemes``: Xavier/Glorot, He/Kaiming and LeCun, one line each over it;
* ``_orthogonal``: :func:`orthogonal`;
* ``_structured``: :func:`zeros`, :func:`ones`, :func:`constant`, :func:`eye`, :func:`dirac`;
* ``_sparse``: :func:`sparse`;
* ``_recommend``: :func:`recommend` and :class:`Recommendation`;
* ``_registry``: :func:`get_initializer` and :func:`weight_variance`.
"""

from ._fans import LAYOUTS, MODES, compute_fans
from ._gains import calculate_gain
from ._orthogonal import orthogonal
from ._recommend import Recommendation, recommend
from ._registry import get_initializer, weight_variance
from ._schemes import (
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    kaiming_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_uniform,
    xavier_normal,
    xavier_uniform,
)
from ._sparse import sparse
from ._structured import constant, dirac, eye, ones, zeros
from ._variance_scaling import DISTRIBUTIONS, TRUNCATED_NORMAL_STD, variance_scaling

__all__ = [
    "DISTRIBUTIONS",
    "LAYOUTS",
    "MODES",
    "TRUNCATED_NORMAL_STD",
    "Recommendation",
    "calculate_gain",
    "compute_fans",
    "constant",
    "dirac",
    "eye",
    "get_initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "recommend",
    "sparse",
    "variance_scaling",
    "weight_variance",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

"""Variance diagnostics for deep MLPs: measured (propagate), predicted (mean_field), and LSUV."""

__all__: list[str] = []

from .propagate import propagate  # noqa: E402
from .result import PropagationResult  # noqa: E402

__all__ += ["propagate", "PropagationResult"]

from .lsuv import LSUVResult, lsuv  # noqa: E402
from .mean_field import MeanFieldResult, critical_weight_variance, mean_field  # noqa: E402

__all__ += ["LSUVResult", "MeanFieldResult", "critical_weight_variance", "lsuv", "mean_field"]

"""Variance diagnostics for deep MLPs: measured (propagate), predicted (mean_field), and LSUV."""

__all__: list[str] = []

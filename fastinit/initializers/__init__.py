"""Weight initializers: fans and gains, variance_scaling and its one-liners, and the rest."""

__all__: list[str] = []

"""recommend and propagate agree: the advice is depth-stable, or says why not and offers one."""

import pytest

import fastinit
from fastinit.diagnostics.activations import ACTIVATIONS

DEEP = [256] * 51  # 50 layers of width 256


def verdict(act, init, kwargs, seed=0):
    r = fastinit.propagate(DEEP, act, init, batch=256, seed=seed, progress=False, **kwargs)
    return r.verdict


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_recommendation_is_depth_stable_or_says_so(act):
    rec = fastinit.recommend(act)
    first = verdict(act, rec.initializer, rec.kwargs)
    if rec.deep_initializer is None and act != "sigmoid":
        assert first == "healthy" and rec.depth_note == ""
        return
    assert rec.depth_note  # why the literature's choice is not depth-stable
    if act == "sigmoid":  # no weight variance is: the note says so and the measurement agrees
        assert first == "vanishing" and "no sigma_w^2" in rec.depth_note
        return
    assert first in ("vanishing", "exploding")  # else the note would be false
    assert verdict(act, rec.deep_initializer, rec.deep_kwargs) == "healthy"
    assert rec.deep_initializer in str(rec)


@pytest.mark.parametrize("act", ["tanh", "softplus", "gelu", "silu"])
def test_deep_alternative_holds_for_other_seeds(act):
    rec = fastinit.recommend(act)
    assert verdict(act, rec.deep_initializer, rec.deep_kwargs, seed=1) == "healthy"

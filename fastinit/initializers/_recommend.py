"""Which initializer suits an activation, and why, as the literature teaches."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._validate import check_real
from ._gains import DEFAULT_NEGATIVE_SLOPE, calculate_gain

GLOROT = ("Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward "
          "neural networks, AISTATS")
HE = ("He et al. (2015), Delving deep into rectifiers: surpassing human-level performance on "
      "ImageNet classification, ICCV")
LECUN = "LeCun et al. (1998), Efficient BackProp, Neural Networks: Tricks of the Trade"
SELU_PAPER = "Klambauer et al. (2017), Self-normalizing neural networks, NeurIPS"
ELU_PAPER = ("Clevert et al. (2016), Fast and accurate deep network learning by exponential "
             "linear units (ELUs), ICLR")
GELU_PAPER = "Hendrycks & Gimpel (2016), Gaussian error linear units (GELUs), arXiv:1606.08415"
SILU_PAPER = ("Ramachandran et al. (2017), Searching for activation functions, arXiv:1710.05941; "
              "Elfwing et al. (2018), Sigmoid-weighted linear units, Neural Networks")


@dataclass(frozen=True)
class Recommendation:
    """An initializer suited to an activation: what to call, with which gain and mode, and why.

    Attributes
    ----------
    activation : str
        The canonical activation name.
    initializer : str
        A name :func:`get_initializer` knows.
    gain : float
        The gain the initializer applies (its weights have variance ``gain**2 / fan``).
    mode : str
        The fan it divides by: ``"fan_in"`` or ``"fan_avg"``.
    bias : str
        The bias initializer, ``"zeros"``.
    reason : str
        One sentence.
    references : tuple of str
    kwargs : dict
        Keyword arguments that make ``get_initializer(initializer)`` apply this gain and mode.
    deep_initializer : str or None
        Where the literature's choice is not depth-stable (``fastinit.propagate`` on 50 layers
        of width 256 calls it vanishing or exploding), the initializer that is; ``None`` when
        the choice above is depth-stable itself, or when no choice is (sigmoid).
    deep_kwargs : dict
        Keyword arguments for ``deep_initializer``.
    depth_note : str
        Why the two differ, or why no choice is depth-stable; empty when the choice is.

    Examples
    --------
    >>> from fastinit import get_initializer
    >>> r = recommend("tanh")
    >>> r.initializer, r.kwargs == {"gain": 5 / 3}
    ('xavier_uniform', True)
    >>> get_initializer(r.initializer)((8, 4), seed=0, **r.kwargs).shape
    (8, 4)
    """

    activation: str
    initializer: str
    gain: float
    mode: str
    bias: str
    reason: str
    references: tuple[str, ...]
    kwargs: dict = field(default_factory=dict, compare=False)
    deep_initializer: str | None = None
    deep_kwargs: dict = field(default_factory=dict, compare=False)
    depth_note: str = ""

    def to_dict(self) -> dict:
        """Strict-JSON types: the fields, with ``references`` as a list."""
        return {"activation": self.activation, "initializer": self.initializer,
                "gain": float(self.gain), "mode": self.mode, "bias": self.bias,
                "reason": self.reason, "references": list(self.references),
                "kwargs": {k: (float(v) if isinstance(v, float) else v)
                           for k, v in self.kwargs.items()}}

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        lines = [
            f"{self.activation}: {self.initializer}({args}) -> gain {self.gain:.4g}, "
            f"variance {self.gain**2:.4g}/{self.mode}; biases: {self.bias}",
            f"  why: {self.reason}",
        ]
        if self.deep_initializer is not None:
            deep = ", ".join(f"{k}={v!r}" for k, v in self.deep_kwargs.items())
            lines.append(f"  deep stacks: {self.deep_initializer}({deep}): {self.depth_note}")
        elif self.depth_note:
            lines.append(f"  deep stacks: {self.depth_note}")
        lines += [f"  see: {ref}" for ref in self.references]
        return "\n".join(lines)


#: Depth-stable alternatives, checked by ``tests/test_recommend_depth.py``: fastinit.propagate
#: on 50 layers of width 256 (batch 256, seeds 0-2) calls each healthy.
_DEEP = {
    "tanh": ("xavier_uniform", {"gain": 1.0},
             "torch's gain 5/3 gives sigma_w^2 = 2.78 on equal widths, chi1 = 1.21 (chaotic): "
             "gradients grow about 1.2x per layer and explode past ~15 layers. Gain 1 puts "
             "tanh at the edge of chaos (sigma_w^2 = 1, Schoenholz et al. 2017)."),
    "softplus": ("variance_scaling", {"scale": 2.1, "mode": "fan_in"},
                 "LeCun's sigma_w^2 = 1 and He's 2 both let gradients shrink with depth "
                 "(softplus is critical only as q -> inf, where it becomes ReLU); "
                 "sigma_w^2 = 2.1 balances the slow forward growth against the backward decay "
                 "(measured, 50 layers; 2.3 explodes forward)."),
    "gelu": ("variance_scaling", {"scale": 2.155, "mode": "fan_in"},
             "GELU has no edge of chaos (critical_weight_variance raises); with He the signal "
             "decays to 0 (chi1 -> 0.5). sigma_w^2 = 2.155 makes q = sigma_w^2 the fixed point "
             "for unit-variance inputs (E[gelu(z)^2] = 1 at q = 2.155); it is unstable, so it "
             "holds for tens of layers, not for ever."),
    "silu": ("variance_scaling", {"scale": 2.3, "mode": "fan_in"},
             "SiLU has no edge of chaos (critical_weight_variance raises); with He the signal "
             "decays to 0. sigma_w^2 = 2.3 keeps 50 layers healthy (measured; 2.2 vanishes, "
             "2.4 explodes): an unstable balance that holds for tens of layers, not for ever."),
}
_SIGMOID_NOTE = ("no sigma_w^2 keeps a 50-layer sigmoid stack's gradients within a factor 1000: "
                 "sigmoid' <= 1/4, so chi1 < 1 until units saturate (critical sigma_w^2 = 103, "
                 "where most units sit on the flat parts); fastinit.propagate finds the gradient "
                 "below 1e-3 of the output's by layer 43-47 of 50 for sigma_w^2 from 1 to 16. "
                 "Use tanh (zero-centred) for deep stacks.")


def _with_depth(rec: Recommendation) -> Recommendation:
    """Attach the depth-stable alternative (or the note that none exists) to ``rec``."""
    from dataclasses import replace

    if rec.activation in _DEEP:
        init, kwargs, note = _DEEP[rec.activation]
        return replace(rec, deep_initializer=init, deep_kwargs=dict(kwargs), depth_note=note)
    if rec.activation == "sigmoid":
        return replace(rec, depth_note=_SIGMOID_NOTE)
    return rec


def recommend(activation: str, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> Recommendation:
    """Recommend an initializer, gain and mode for an activation, with the reason and references.

    ================  =================  =====================  ====================================
    activation        initializer        gain                   source
    ================  =================  =====================  ====================================
    linear, sigmoid   xavier_uniform     1                      Glorot & Bengio (2010)
    tanh              xavier_uniform     5/3                    Glorot & Bengio (2010), torch's gain
    relu              he_normal          √2                     He et al. (2015)
    leaky_relu        he_normal          √(2/(1+slope²))        He et al. (2015)
    elu               he_normal          √2                     Clevert et al. (2016)
    selu              lecun_normal       1                      Klambauer et al. (2017)
    gelu, silu        he_normal          √2                     ReLU-like, see the note
    softplus          lecun_normal       1                      E[softplus(z)²] ≈ 0.92
    ================  =================  =====================  ====================================

    The table follows the literature and torch's conventions.  Where that choice is not
    depth-stable (``fastinit.propagate`` on 50 layers of width 256 calls it vanishing or
    exploding), the recommendation says why in ``depth_note`` and offers one that is in
    ``deep_initializer``/``deep_kwargs``: tanh ``xavier_uniform(gain=1)``, softplus
    ``variance_scaling(scale=2.1)``, gelu ``variance_scaling(scale=2.155)``, silu
    ``variance_scaling(scale=2.3)``.  For sigmoid no weight variance is depth-stable at 50
    layers; ``depth_note`` says so.

    Biases start at zero in every case.  GELU and SiLU (swish) have no gain of their own in the
    literature: they behave like ReLU for large inputs, so He initialization is the usual choice,
    but they pass less of the second moment than ReLU (E[φ(z)²] ≈ 0.43 and 0.36 against 0.5 for
    z ~ N(0, 1)), so activations shrink slowly with depth; fastinit's diagnostics measure it.

    Parameters
    ----------
    activation : str
        One of linear, sigmoid, tanh, relu, leaky_relu, elu, selu, gelu, silu (or swish),
        softplus (see :mod:`fastinit.diagnostics.activations`).
    negative_slope : float
        The leaky ReLU's slope (used for ``leaky_relu`` only).

    Returns
    -------
    Recommendation
        A frozen dataclass; ``str()`` of it reads as a short paragraph.

    Raises
    ------
    ValueError
        For an unknown activation (the message lists the known ones) or a bad slope.

    Examples
    --------
    >>> r = recommend("relu")
    >>> r.initializer, r.mode, r.bias, r.gain == 2 ** 0.5
    ('he_normal', 'fan_in', 'zeros', True)
    >>> print(recommend("tanh"))  # doctest: +ELLIPSIS
    tanh: xavier_uniform(gain=1.666...) -> gain 1.667, variance 2.778/fan_avg; biases: zeros
      why: ...
      deep stacks: xavier_uniform(gain=1.0): torch's gain 5/3 gives sigma_w^2 = 2.78 ...
    >>> recommend("tanh").deep_kwargs
    {'gain': 1.0}
    >>> recommend("leaky_relu", negative_slope=0.2).kwargs
    {'a': 0.2, 'mode': 'fan_in', 'nonlinearity': 'leaky_relu'}
    """
    return _with_depth(_literature(activation, negative_slope))


def _literature(activation: str, negative_slope: float) -> Recommendation:
    from ..diagnostics.activations import canonical  # lazy: diagnostics imports initializers

    name = canonical(activation)
    slope = check_real("negative_slope", negative_slope)
    he_relu = {"mode": "fan_in", "nonlinearity": "relu"}
    if name in ("linear", "sigmoid", "tanh"):
        gain = calculate_gain(name)
        why = {
            "linear": "a linear layer keeps variances when the weights have variance "
                      "2/(fan_in + fan_out), the compromise between the forward and backward "
                      "passes",
            "sigmoid": "sigmoid is near-linear around 0 with slope 1/4, and Glorot & Bengio "
                       "derived their fan-average scaling for such saturating units",
            "tanh": "tanh is linear with slope 1 near 0 and saturates, so Glorot's "
                    "fan-average scaling applies, with torch's gain 5/3 to offset the squashing",
        }[name]
        refs = (GLOROT,)
        return Recommendation(name, "xavier_uniform", gain, "fan_avg", "zeros", why + ".", refs,
                              {"gain": gain})
    if name == "relu":
        return Recommendation(
            name, "he_normal", calculate_gain("relu"), "fan_in", "zeros",
            "ReLU zeroes half of a symmetric input and so halves its second moment; weights of "
            "variance 2/fan_in restore it in every layer.", (HE,), he_relu)
    if name == "leaky_relu":
        gain = calculate_gain("leaky_relu", slope)
        return Recommendation(
            name, "he_normal", gain, "fan_in", "zeros",
            f"a leaky ReLU with slope {slope:g} keeps (1 + slope**2)/2 of the second moment, so "
            "weights of variance 2/((1 + slope**2) fan_in) preserve it.", (HE,),
            {"a": slope, "mode": "fan_in", "nonlinearity": "leaky_relu"})
    if name == "elu":
        return Recommendation(
            name, "he_normal", calculate_gain("relu"), "fan_in", "zeros",
            "ELU is the identity for positive inputs and bounded below, close to ReLU, and "
            "Clevert et al. initialize ELU networks as ReLU ones (He, variance 2/fan_in).",
            (ELU_PAPER, HE), he_relu)
    if name == "selu":
        return Recommendation(
            name, "lecun_normal", 1.0, "fan_in", "zeros",
            "SELU's self-normalizing fixed point (mean 0, variance 1) needs weights of variance "
            "exactly 1/fan_in; torch's gain 3/4 for 'selu' trades that fixed point away.",
            (SELU_PAPER, LECUN), {})
    if name in ("gelu", "silu"):
        second_moment = {"gelu": 0.43, "silu": 0.36}[name]
        label = {"gelu": "GELU", "silu": "SiLU"}[name]
        return Recommendation(
            name, "he_normal", calculate_gain("relu"), "fan_in", "zeros",
            f"{label} has no gain of its own in the literature; it is ReLU-like for large inputs, "
            "so He initialization is the usual choice, but it keeps less second moment than "
            f"ReLU (E[phi(z)^2] = {second_moment} vs 0.5), so check deep stacks with fastinit's "
            "diagnostics.",
            ({"gelu": GELU_PAPER, "silu": SILU_PAPER}[name], HE), he_relu)
    # softplus
    return Recommendation(
        name, "lecun_normal", 1.0, "fan_in", "zeros",
        "softplus keeps about all of the second moment of a unit normal input "
        f"(E[softplus(z)^2] = {0.92}), so weights of variance 1/fan_in suit it better than "
        "He's 2/fan_in.", (LECUN,), {})

"""Words to floats, compiled: uniforms, logarithms, sine/cosine and Box-Muller pairs.

Only IEEE-exact operations (+, -, *, /, sqrt, exact int->float conversions, bit casts), written
in a fixed order with no fast-math, so the results are the same bits on every CPU and equal to
the NumPy twin :mod:`fastinit.distributions._transforms_np` (same names, same operations).
Words arrive as uint64 lanes holding 32-bit values.
"""

from __future__ import annotations

import numpy as np

from .._intrinsics import bits_to_f32, bits_to_f64, f32_to_bits, f64_to_bits, sqrt_f32, sqrt_f64
from .._jit import jit
from . import _constants as C

U64 = np.uint64
I64 = np.int64
F32 = np.float32
F64 = np.float64

_P0, _P1, _P2, _P3, _P4, _P5, _P6, _P7, _P8 = C.LOGF_P
_S3, _S2, _S1 = C.SINF_P
_C3, _C2, _C1 = C.COSF_P
_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7 = C.LG
_SS1, _SS2, _SS3, _SS4, _SS5, _SS6 = C.SIN_S
_CC1, _CC2, _CC3, _CC4, _CC5, _CC6 = C.COS_C
_LOG_SHIFT_F32 = U64(C.LOG_SHIFT_F32)
_SQRT_HALF_F32 = U64(C.SQRT_HALF_BITS_F32)
_LOG_SHIFT_F64 = U64(C.LOG_SHIFT_F64)
_SQRT_HALF_F64 = U64(C.SQRT_HALF_HI_BITS_F64)
_ONE_BITS = U64(C.ONE_BITS_F64)
_MANT52 = U64(C.MANT52)
_MANT23 = U64(0x7FFFFF)
_M32 = U64(0xFFFFFFFF)
_EXP_BIAS_F32 = F32(127 + C.TWO_M31_EXP)
_HALF32 = F32(0.5)
_ONE32 = F32(1.0)
_TWO32 = F32(2.0)
_MTWO32 = F32(-2.0)
_ANGLE_OFF32 = F32(C.ANGLE_OFFSET_F32)
_TWO_M53 = F64(C.TWO_M53_F64)


# ---- float32 ----------------------------------------------------------------------------------
@jit(inline=True)
def uniform_f32(w):
    """Top 24 bits of a word -> float32 in [0, 1 - 2**-24], exactly k * 2**-24."""
    return F32(np.int32(w >> U64(8))) * C.TWO_M24_F32


@jit(inline=True)
def log_radius_f32(w):
    """ln(u) for u = (k + 1/2) * 2**-31, k the top 31 bits of w; u in [2**-32, 1]."""
    v = F32(np.int32(w >> U64(1))) + _HALF32  # in [0.5, 2**31], rounded to 24 bits
    ib = (U64(f32_to_bits(v)) + _LOG_SHIFT_F32) & _M32
    e = F32(np.int32(ib >> U64(23))) - _EXP_BIAS_F32  # exponent of u, the 2**-31 folded in
    x = bits_to_f32(np.uint32((ib & _MANT23) + _SQRT_HALF_F32)) - _ONE32
    z = x * x
    y = _P0 * x + _P1
    y = y * x + _P2
    y = y * x + _P3
    y = y * x + _P4
    y = y * x + _P5
    y = y * x + _P6
    y = y * x + _P7
    y = y * x + _P8
    y = y * x
    y = y * z
    y = y + C.LN2_LO_F32 * e
    y = y - _HALF32 * z
    return (x + y) + C.LN2_HI_F32 * e


@jit(inline=True)
def quarter_turn(q, c, s):
    """(cos, sin) of q * pi/2 + a from (c, s) = (cos a, sin a); q in 0..3 (a uint64)."""
    odd = (q & U64(1)) == U64(1)
    x = s if odd else c
    y = c if odd else s
    sx = 1.0 - 2.0 * F64((q ^ (q >> U64(1))) & U64(1))
    sy = 1.0 - 2.0 * F64(q >> U64(1))
    return x, y, sx, sy


@jit(inline=True)
def box_muller_f32(wa, wb):
    """Two standard normals (float32) from two words: radius from wa, angle from wb."""
    r = sqrt_f32(_MTWO32 * log_radius_f32(wa))
    t = F32(np.int32(((wb >> U64(6)) & U64(0xFFFFFF)) << U64(1))) - _ANGLE_OFF32  # odd, exact
    a = t * C.ANGLE_SCALE_F32
    z = a * a
    s = _S3 * z + _S2
    s = s * z + _S1
    s = s * z
    s = s * a
    s = s + a
    c = _C3 * z + _C2
    c = c * z + _C1
    c = c * z
    c = c * z
    c = c - _HALF32 * z
    c = c + _ONE32
    x, y, sx, sy = quarter_turn(wb >> U64(30), c, s)
    return (r * x) * F32(sx), (r * y) * F32(sy)


# ---- float64 ----------------------------------------------------------------------------------
@jit(inline=True)
def unit_f64(hi, lo):
    """52 bits (hi's 32, lo's top 20) -> float64 in [1, 2), exactly 1 + k * 2**-52."""
    mant = ((hi << U64(20)) | (lo >> U64(12))) & _MANT52
    return bits_to_f64(_ONE_BITS | mant)


@jit(inline=True)
def uniform_f64(hi, lo):
    """Two words -> float64 in [0, 1 - 2**-52], exactly k * 2**-52."""
    return unit_f64(hi, lo) - 1.0


@jit(inline=True)
def open_uniform_f64(hi, lo):
    """Two words -> float64 in (0, 1], exactly (2k + 1) * 2**-53."""
    return (unit_f64(hi, lo) - 1.0) + _TWO_M53


@jit(inline=True)
def log_f64(u):
    """Natural log of a positive normal float64 (fdlibm's method; max error < 1 ulp)."""
    ix = f64_to_bits(u) + _LOG_SHIFT_F64
    k = F64(I64(ix >> U64(52)) - I64(1023))
    f = bits_to_f64((ix & _MANT52) + _SQRT_HALF_F64) - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    return s * (hfsq + r) + k * C.LN2_LO_F64 - hfsq + f + k * C.LN2_HI_F64


@jit(inline=True)
def box_muller_f64(w0, w1, w2, w3):
    """Two standard normals (float64) from four words: radius from (w0, w1), angle from (w2, w3)."""
    r = sqrt_f64(-2.0 * log_f64(open_uniform_f64(w0, w1)))
    frac = ((w2 & U64(0x3FFFFFFF)) << U64(22)) | (w3 >> U64(10))  # 52 bits
    a = ((bits_to_f64(_ONE_BITS | frac) - 1.0 - 0.5) + _TWO_M53) * C.HALF_PI_F64
    z = a * a
    w = z * z
    sr = _SS2 + z * (_SS3 + z * _SS4) + z * w * (_SS5 + z * _SS6)
    s = a + (z * a) * (_SS1 + z * sr)
    cr = z * (_CC1 + z * (_CC2 + z * _CC3)) + w * w * (_CC4 + z * (_CC5 + z * _CC6))
    hz = 0.5 * z
    one_m = 1.0 - hz
    c = one_m + (((1.0 - one_m) - hz) + z * cr)
    x, y, sx, sy = quarter_turn(w2 >> U64(30), c, s)
    return (r * x) * sx, (r * y) * sy

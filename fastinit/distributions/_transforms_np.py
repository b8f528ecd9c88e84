"""Words to floats in plain NumPy: the twin of :mod:`fastinit.distributions._transforms`.

Same names, same operations in the same order, on arrays; words arrive as uint64 arrays
holding 32-bit values.  Scalars are NumPy scalars of the working dtype so that NumPy never
promotes a float32 expression to float64.
"""

from __future__ import annotations

import numpy as np

from . import _constants as C

U64 = np.uint64
F32 = np.float32
F64 = np.float64

_P = C.LOGF_P
_S3, _S2, _S1 = C.SINF_P
_C3, _C2, _C1 = C.COSF_P
_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7 = (F64(c) for c in C.LG)
_SS1, _SS2, _SS3, _SS4, _SS5, _SS6 = (F64(c) for c in C.SIN_S)
_CC1, _CC2, _CC3, _CC4, _CC5, _CC6 = (F64(c) for c in C.COS_C)
_HALF32 = F32(0.5)
_ONE32 = F32(1.0)
_TWO_M53 = F64(C.TWO_M53_F64)


def uniform_f32(w):
    """Top 24 bits of a word -> float32 in [0, 1 - 2**-24], exactly k * 2**-24."""
    return (w >> U64(8)).astype(np.int32).astype(F32) * C.TWO_M24_F32


def log_radius_f32(w):
    """ln(u) for u = (k + 1/2) * 2**-31, k the top 31 bits of w; u in [2**-32, 1]."""
    v = (w >> U64(1)).astype(np.int32).astype(F32) + _HALF32
    ib = (v.view(np.uint32).astype(U64) + U64(C.LOG_SHIFT_F32)) & U64(0xFFFFFFFF)
    e = (ib >> U64(23)).astype(np.int32).astype(F32) - F32(127 + C.TWO_M31_EXP)
    x = ((ib & U64(0x7FFFFF)) + U64(C.SQRT_HALF_BITS_F32)).astype(np.uint32).view(F32) - _ONE32
    z = x * x
    y = _P[0] * x + _P[1]
    for p in _P[2:]:
        y = y * x + p
    y = y * x
    y = y * z
    y = y + C.LN2_LO_F32 * e
    y = y - _HALF32 * z
    return (x + y) + C.LN2_HI_F32 * e


def quarter_turn(q, c, s):
    """(cos, sin) of q * pi/2 + a from (c, s) = (cos a, sin a); q in 0..3."""
    odd = (q & U64(1)) == U64(1)
    x = np.where(odd, s, c)
    y = np.where(odd, c, s)
    sx = 1.0 - 2.0 * ((q ^ (q >> U64(1))) & U64(1)).astype(F64)
    sy = 1.0 - 2.0 * (q >> U64(1)).astype(F64)
    return x, y, sx, sy


def box_muller_f32(wa, wb):
    """Two standard normals (float32) from two words: radius from wa, angle from wb."""
    r = np.sqrt(F32(-2.0) * log_radius_f32(wa))
    t = (((wb >> U64(6)) & U64(0xFFFFFF)) << U64(1)).astype(np.int32).astype(F32)
    t = t - F32(C.ANGLE_OFFSET_F32)
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
    return (r * x) * sx.astype(F32), (r * y) * sy.astype(F32)


def unit_f64(hi, lo):
    """52 bits (hi's 32, lo's top 20) -> float64 in [1, 2), exactly 1 + k * 2**-52."""
    mant = ((hi << U64(20)) | (lo >> U64(12))) & U64(C.MANT52)
    return (U64(C.ONE_BITS_F64) | mant).view(F64)


def uniform_f64(hi, lo):
    """Two words -> float64 in [0, 1 - 2**-52], exactly k * 2**-52."""
    return unit_f64(hi, lo) - 1.0


def open_uniform_f64(hi, lo):
    """Two words -> float64 in (0, 1], exactly (2k + 1) * 2**-53."""
    return (unit_f64(hi, lo) - 1.0) + _TWO_M53


def log_f64(u):
    """Natural log of a positive normal float64 (fdlibm's method; max error < 1 ulp)."""
    ix = np.asarray(u, dtype=F64).view(U64) + U64(C.LOG_SHIFT_F64)
    k = ((ix >> U64(52)).astype(np.int64) - 1023).astype(F64)
    f = ((ix & U64(C.MANT52)) + U64(C.SQRT_HALF_HI_BITS_F64)).view(F64) - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    return s * (hfsq + r) + k * C.LN2_LO_F64 - hfsq + f + k * C.LN2_HI_F64


def box_muller_f64(w0, w1, w2, w3):
    """Two standard normals (float64) from four words: radius from (w0, w1), angle from (w2, w3)."""
    r = np.sqrt(-2.0 * log_f64(open_uniform_f64(w0, w1)))
    frac = ((w2 & U64(0x3FFFFFFF)) << U64(22)) | (w3 >> U64(10))
    a = (((U64(C.ONE_BITS_F64) | frac).view(F64) - 1.0 - 0.5) + _TWO_M53) * C.HALF_PI_F64
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

"""Named constants of the stream layout and of the float transforms, each with its derivation.

Shared by the compiled kernels and their NumPy twin, so the two cannot drift apart.
Everything here is frozen by ``docs/stream-spec.md`` (stream version 1).
"""

import math

import numpy as np

STREAM_VERSION = 1

# ---- layout ---------------------------------------------------------------------------------
#: Counters per block.  A block of float32 output holds 4 * COUNTERS_PER_BLOCK elements (word w of
#: counter j at offset w * COUNTERS_PER_BLOCK + j), so stores of one word are contiguous.
COUNTERS_PER_BLOCK = 256
ELEMENTS_PER_COUNTER_F32 = 4
ELEMENTS_PER_COUNTER_F64 = 2
BLOCK_F32 = ELEMENTS_PER_COUNTER_F32 * COUNTERS_PER_BLOCK  # 1024 float32 elements
BLOCK_F64 = ELEMENTS_PER_COUNTER_F64 * COUNTERS_PER_BLOCK  # 512 float64 elements
#: Counter word 3 of a redraw (truncated normal): attempt number, plus this bit for per-element
#: draws of the uniform/exponential proposals.
ELEMENT_DRAW_TAG = 1 << 31

# ---- float32 ----------------------------------------------------------------------------------
F32 = np.float32
TWO_M24_F32 = F32(2.0**-24)  # uniform: 24-bit integer k -> k * 2**-24 in [0, 1)
TWO_M31_EXP = 31  # radius: u = (k + 1/2) * 2**-31, k a 31-bit integer; the 2**-31 is in the exponent
SQRT_HALF_BITS_F32 = 0x3F3504F3  # bits of float32(sqrt(1/2)): log reduction to [sqrt(.5), sqrt(2))
LOG_SHIFT_F32 = 0x3F800000 - SQRT_HALF_BITS_F32
# Cephes logf: ln(1 + x) = x - x**2/2 + x**3 * P(x) for x in [sqrt(.5) - 1, sqrt(2) - 1].
LOGF_P = tuple(
    F32(c)
    for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
              1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
              3.3333331174e-1)
)
LN2_HI_F32 = F32(0.693359375)  # ln 2 = LN2_HI + LN2_LO, LN2_HI exact in 10 bits
LN2_LO_F32 = F32(-2.12194440e-4)
# Cephes sinf/cosf minimax polynomials on [-pi/4, pi/4].
SINF_P = (F32(-1.9515295891e-4), F32(8.3321608736e-3), F32(-1.6666654611e-1))
COSF_P = (F32(2.443315711809948e-5), F32(-1.388731625493765e-3), F32(4.166664568298827e-2))
#: angle a = t * ANGLE_SCALE_F32 for an odd integer |t| < 2**24: (pi/2) * 2**-25 maps t to (-pi/4, pi/4)
ANGLE_SCALE_F32 = F32(F32(math.pi / 2) * F32(2.0**-25))
ANGLE_OFFSET_F32 = (1 << 24) - 1

# ---- float64 ----------------------------------------------------------------------------------
F64 = np.float64
ONE_BITS_F64 = 0x3FF0000000000000  # bits of 1.0: OR-ing 52 random bits in gives [1, 2)
MANT52 = (1 << 52) - 1
TWO_M53_F64 = 2.0**-53
SQRT_HALF_HI_BITS_F64 = 0x3FE6A09E00000000  # high word of sqrt(1/2): log reduction (fdlibm)
LOG_SHIFT_F64 = ONE_BITS_F64 - SQRT_HALF_HI_BITS_F64
# fdlibm e_log.c: ln(1+f) = 2s + s*R(s*s), s = f / (2 + f).
LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
      2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
      1.479819860511658591e-01)
LN2_HI_F64 = 6.93147180369123816490e-01  # ln 2 split: LN2_HI has 32 significant bits
LN2_LO_F64 = 1.90821492927058770002e-10
# fdlibm k_sin.c / k_cos.c on [-pi/4, pi/4].
SIN_S = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
         2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
COS_C = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
         -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
HALF_PI_F64 = math.pi / 2

#: Largest |z| a standard normal draw can take (radius at the smallest u): used to reject
#: parameters whose mean + std * z would overflow the dtype.
MAX_ABS_Z_F32 = math.sqrt(-2.0 * math.log(0.5 * 2.0**-31)) + 1e-3  # ~6.66
MAX_ABS_Z_F64 = math.sqrt(-2.0 * math.log(2.0**-53)) + 1e-3  # ~8.57

"""Tiny numba intrinsics: bit casts between floats and unsigned words, and IEEE square roots.

numba's ``math.sqrt`` calls the C library; ``llvm.sqrt`` is the correctly rounded IEEE square root
as one instruction, and it vectorizes.  Bit casts are free reinterpretations.  Each has an obvious
NumPy counterpart (``ndarray.view`` and ``np.sqrt``), which the twin uses.
"""

from __future__ import annotations

from ._jit import BACKEND

if BACKEND == "numba":
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    def _bitcast(name, src, dst, llvm_dst):
        def impl(typingctx, x):
            if x != src:
                return None

            def codegen(context, builder, sig, args):
                return builder.bitcast(args[0], llvm_dst)

            return dst(src), codegen

        impl.__name__ = impl.__qualname__ = name
        return intrinsic(impl)

    f32_to_bits = _bitcast("f32_to_bits", types.float32, types.uint32, ir.IntType(32))
    bits_to_f32 = _bitcast("bits_to_f32", types.uint32, types.float32, ir.FloatType())
    f64_to_bits = _bitcast("f64_to_bits", types.float64, types.uint64, ir.IntType(64))
    bits_to_f64 = _bitcast("bits_to_f64", types.uint64, types.float64, ir.DoubleType())

    def _sqrt(numba_type, llvm_type, name):
        def impl(typingctx, x):
            if x != numba_type:
                return None

            def codegen(context, builder, sig, args):
                fnty = ir.FunctionType(llvm_type, [llvm_type])
                fn = cgutils.get_or_insert_function(builder.module, fnty, name)
                return builder.call(fn, args)

            return numba_type(numba_type), codegen

        impl.__name__ = impl.__qualname__ = name.replace(".", "_")
        return intrinsic(impl)

    sqrt_f32 = _sqrt(types.float32, ir.FloatType(), "llvm.sqrt.f32")
    sqrt_f64 = _sqrt(types.float64, ir.DoubleType(), "llvm.sqrt.f64")

else:
    # Without numba the compiled modules still import (their functions run as plain Python,
    # though nothing calls them: the NumPy twins do the work); these are exact equivalents.
    import numpy as np

    def f32_to_bits(x):
        return np.float32(x).view(np.uint32)

    def bits_to_f32(x):
        return np.uint32(x).view(np.float32)

    def f64_to_bits(x):
        return np.float64(x).view(np.uint64)

    def bits_to_f64(x):
        return np.uint64(x).view(np.float64)

    sqrt_f32 = sqrt_f64 = np.sqrt

"""The float transforms: accuracy of the polynomial log/sin/cos, exactness of the uniforms."""

import numpy as np

from fastinit.distributions import _transforms_np as T


def ulp_error(got, ref, dtype):
    return np.max(np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(dtype)))


def test_log_f64_within_one_ulp():
    rng = np.random.default_rng(0)
    u = np.concatenate([rng.random(200_000) + 2.0**-53, 2.0 ** -rng.uniform(0, 53, 200_000), [2.0**-53, 1.0]])
    got = T.log_f64(u)
    ref = np.log(u)
    ok = ref != 0
    assert ulp_error(got[ok], ref[ok], np.float64) <= 1.0
    assert got[-1] == 0.0


def test_log_radius_f32_within_one_ulp():
    w = np.random.default_rng(1).integers(0, 2**32, 200_000).astype(np.uint64)
    w[:4] = [0, 1, 2**32 - 2, 2**32 - 1]
    v = ((w >> np.uint64(1)).astype(np.int32).astype(np.float32) + np.float32(0.5)).astype(np.float64)
    ref = np.log(v * 2.0**-31)
    got = T.log_radius_f32(w)
    ok = ref != 0
    assert ulp_error(got[ok], ref[ok], np.float32) <= 1.0
    assert got[3] == 0.0 and got[2] == 0.0  # the largest words give u = 1


def test_box_muller_f64_matches_libm_angles():
    w = np.random.default_rng(2).integers(0, 2**32, size=(4, 100_000)).astype(np.uint64)
    z0, z1 = T.box_muller_f64(*w)
    r = np.sqrt(-2 * np.log(T.open_uniform_f64(w[0], w[1])))
    frac = ((w[2] & np.uint64(0x3FFFFFFF)) << np.uint64(22)) | (w[3] >> np.uint64(10))
    angle = ((frac * 2.0**-52 - 0.5) + 2.0**-53) * (np.pi / 2) + (w[2] >> np.uint64(30)) * (np.pi / 2)
    assert np.max(np.abs(z0 - r * np.cos(angle)) / np.maximum(r, 1)) < 4e-15
    assert np.max(np.abs(z1 - r * np.sin(angle)) / np.maximum(r, 1)) < 4e-15


def test_box_muller_f32_matches_libm_angles():
    w = np.random.default_rng(3).integers(0, 2**32, size=(2, 100_000)).astype(np.uint64)
    z0, z1 = T.box_muller_f32(w[0], w[1])
    r = np.sqrt(-2 * T.log_radius_f32(w[0]).astype(np.float64))
    t = (((w[1] >> np.uint64(6)) & np.uint64(0xFFFFFF)) * 2.0 - (2**24 - 1)) * (np.pi / 2) * 2.0**-25
    angle = t + (w[1] >> np.uint64(30)) * (np.pi / 2)
    assert np.max(np.abs(z0 - r * np.cos(angle)) / np.maximum(r, 1)) < 2e-6
    assert np.max(np.abs(z1 - r * np.sin(angle)) / np.maximum(r, 1)) < 2e-6


def test_uniforms_are_exact():
    w = np.array([0, 255, 256, 2**32 - 1], np.uint64)
    assert T.uniform_f32(w).tolist() == [0.0, 0.0, 2.0**-24, 1 - 2.0**-24]
    hi = np.array([0, 0, 2**32 - 1], np.uint64)
    lo = np.array([0, 4095, 2**32 - 1], np.uint64)
    assert T.uniform_f64(hi, lo).tolist() == [0.0, 0.0, 1 - 2.0**-52]
    assert T.open_uniform_f64(hi, lo).tolist() == [2.0**-53, 2.0**-53, 1 - 2.0**-53]

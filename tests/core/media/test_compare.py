"""A/B compare compositing: what each mode puts where, and pictures of different sizes."""

from __future__ import annotations

import numpy as np
import pytest

from core.media.compare import CompareMode, composite, difference, fit_to, onion, to_uint8, wipe


def solid(height: int, width: int, rgba: tuple[float, float, float, float]) -> np.ndarray:
    return np.tile(np.asarray(rgba, dtype=np.float32), (height, width, 1))


RED = (1.0, 0.0, 0.0, 1.0)
BLUE = (0.0, 0.0, 1.0, 1.0)


def test_wipe_at_half_takes_left_from_a_and_right_from_b() -> None:
    a, b = solid(4, 10, RED), solid(4, 10, BLUE)
    out = wipe(a, b, 0.5)
    assert out.shape == (4, 10, 4)
    np.testing.assert_array_equal(out[:, :5], a[:, :5])
    np.testing.assert_array_equal(out[:, 5:], b[:, 5:])
    np.testing.assert_array_equal(wipe(a, b, 0.0), b)
    np.testing.assert_array_equal(wipe(a, b, 1.0), a)


def test_difference_of_identical_pictures_is_black_and_opaque() -> None:
    rng = np.random.default_rng(7)
    a = rng.random((6, 8, 4), dtype=np.float32)
    out = difference(a, a.copy(), gain=10.0)
    np.testing.assert_array_equal(out[:, :, :3], 0.0)
    np.testing.assert_array_equal(out[:, :, 3], 1.0)


def test_difference_of_known_pictures_with_gain() -> None:
    a = solid(2, 2, (0.50, 0.20, 0.9, 1.0))
    b = solid(2, 2, (0.45, 0.30, 0.1, 0.5))
    out = difference(a, b, gain=4.0)
    # |A−B| = (0.05, 0.1, 0.8) × 4 = (0.2, 0.4, 3.2 → clipped to 1); alpha ignored, result opaque.
    np.testing.assert_allclose(out[0, 0], (0.2, 0.4, 1.0, 1.0), atol=1e-6)


def test_onion_at_quarter_blends_three_quarters_a_one_quarter_b() -> None:
    a = solid(3, 3, (1.0, 0.0, 0.4, 1.0))
    b = solid(3, 3, (0.0, 1.0, 0.8, 0.0))
    np.testing.assert_allclose(onion(a, b, 0.25)[1, 1], (0.75, 0.25, 0.5, 0.75), atol=1e-6)


def test_b_of_another_size_is_fitted_to_a_keeping_its_aspect() -> None:
    a = solid(10, 20, RED)
    b = solid(5, 5, BLUE)  # square: fitted to 10x10 in the middle of A's 10x20
    fitted = fit_to(b, 10, 20)
    assert fitted.shape == (10, 20, 4)
    np.testing.assert_array_equal(fitted[:, 5:15], solid(10, 10, BLUE))
    np.testing.assert_array_equal(fitted[:, :5], 0.0)  # transparent margin
    np.testing.assert_array_equal(fitted[:, 15:], 0.0)
    # Every mode's result has A's size; in the margin a difference shows A itself.
    for mode in (CompareMode.WIPE, CompareMode.DIFFERENCE, CompareMode.ONION):
        out = composite(mode, a, b, position=0.5, gain=1.0, opacity=0.5)
        assert out.shape == a.shape
    np.testing.assert_array_equal(difference(a, b)[0, 0], RED)
    np.testing.assert_array_equal(difference(a, b)[0, 10], (1.0, 0.0, 1.0, 1.0))


def test_larger_b_is_sampled_down_without_new_values() -> None:
    b = np.zeros((8, 8, 4), dtype=np.float32)
    b[:, 4:] = BLUE  # left half transparent black, right half blue
    fitted = fit_to(b, 4, 4)
    np.testing.assert_array_equal(fitted[:, :2], 0.0)
    np.testing.assert_array_equal(fitted[:, 2:], solid(4, 2, BLUE))


def test_side_by_side_is_not_composited() -> None:
    a = solid(2, 2, RED)
    with pytest.raises(ValueError, match="Side by side"):
        composite(CompareMode.SIDE_BY_SIDE, a, a, position=0.5, gain=1.0, opacity=0.5)


def test_to_uint8_rounds_and_clips() -> None:
    values = np.asarray([[[-0.5, 0.5, 1.0, 2.0]]], dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(values), [[[0, 128, 255, 255]]])

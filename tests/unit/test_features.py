"""The taught models' pixel features: named, counted, and the same computed by tiles as over the whole scene."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.detection.features import (
    FEATURE_HALO_PX,
    check_feature_set,
    feature_count,
    feature_names,
    pixel_features,
    tile_windows,
)


def _dates(shape=(150, 170), bands=3, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((bands,) + shape, dtype="float32")
    b = a.copy()
    b[:, 40:60, 50:80] = 0.9  # a roof appears
    return a, b


def test_features_are_counted_and_named_in_order():
    a, b = _dates(bands=4)
    feats = pixel_features(a, b)
    names = feature_names(("blue", "green", "red", "nir"))
    assert feats.shape == (feature_count(4), 150, 170) == (len(names), 150, 170) == (50, 150, 170)
    assert names[:4] == ["before_blue", "before_green", "before_red", "before_nir"]
    assert names[8] == "difference_blue" and names[12] == "difference_blur_1px"
    np.testing.assert_array_equal(feats[8:12], b - a)  # the difference, as named
    assert feats.dtype == np.float32 and np.isfinite(feats).all()


def test_where_nothing_changed_the_change_features_are_zero():
    a, _ = _dates()
    feats = pixel_features(a, a)
    names = feature_names(("r", "g", "b"))
    for i, n in enumerate(names):
        if n.startswith(("difference", "grey_std_difference", "gradient_difference")):
            assert np.abs(feats[i]).max() < 1e-5, n


def test_an_unknown_feature_set_is_refused():
    with pytest.raises(ValueError, match="feature set 'campwatch-pixel/9' is not one campwatch computes"):
        check_feature_set("campwatch-pixel/9")


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 300), cols=st.integers(1, 300), tile=st.integers(16, 128))
def test_tiles_cover_the_grid_once(rows, cols, tile):
    seen = np.zeros((rows, cols), dtype="int32")
    for window, inner in tile_windows((rows, cols), tile):
        assert window[0].start >= 0 and window[1].stop <= cols and window[0].stop <= rows
        sub = seen[window]
        sub[inner] += 1
    assert (seen == 1).all()


def test_features_by_tiles_with_their_halo_are_those_of_the_whole_scene():
    a, b = _dates(shape=(300, 260))
    whole = pixel_features(a, b)
    joined = np.empty_like(whole)
    for window, inner in tile_windows(a.shape[1:], 96, FEATURE_HALO_PX):
        part = pixel_features(a[(slice(None),) + window], b[(slice(None),) + window])
        target = joined[(slice(None),) + window]
        target[(slice(None),) + inner] = part[(slice(None),) + inner]
    assert np.abs(joined - whole).max() < 1e-4

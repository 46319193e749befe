"""Tests of campwatch.detection.segment."""

from __future__ import annotations

import numpy as np

from campwatch.config import DetectConfig
from campwatch.detection.segment import clean_mask


def test_clean_mask_removes_slivers_and_specks():
    mask = np.zeros((100, 100), bool)
    mask[10:40, 10:40] = True  # 225 m2: kept
    mask[60, 10:90] = True  # a one-pixel sliver
    mask[80:84, 80:84] = True  # 4 m2 speck
    out = clean_mask(mask, pixel_size=0.5, config=DetectConfig())
    assert out[12:38, 12:38].all()
    assert not out[60].any() and not out[80:84, 80:84].any()

"""Tests of campwatch.detection.change."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILDINGS, array_scene, camp_scene

from campwatch.detection.change import change_measures, robust_sigma


def test_change_measures_take_given_noise_sigmas():
    a = np.full((2, 40, 40), 100.0, "float32")
    b = a.copy()
    b[0, :10] += 30.0
    b[1, :10] += 40.0
    m = change_measures(array_scene(a), array_scene(b), sigma=(10.0, 20.0))
    assert m.sigma == (10.0, 20.0)
    assert m.magnitude[0, 0] == pytest.approx(np.sqrt((3.0**2 + 2.0**2) / 2))
    assert m.magnitude[20, 20] == 0
    with pytest.raises(ValueError, match="1 noise sigmas given for 2 bands"):
        change_measures(array_scene(a), array_scene(b), sigma=(10.0,))


def test_identical_scenes_have_no_change():
    a = array_scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1))
    m = change_measures(a, a)
    assert np.all(m.magnitude == 0)
    assert robust_sigma(np.array([])) == 0.0

"""Built or razed the right way round: a pair analysed with its dates swapped reports the same changes
the other way round (new as demolished, added as removed), with no labels needed."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from conftest import AOIS, SAMPLE

from campwatch.classes import CLASSES
from campwatch.detection.analysis import analyse_scenes
from campwatch.detection.structures import move_pixels
from campwatch.io.aoi import read_aoi
from campwatch.io.pair import PairRequest, read_pair

SWAPPED = {"structure_new": "structure_demolished", "structure_demolished": "structure_new",
           "tower_added": "tower_removed", "tower_removed": "tower_added"}


def test_a_pair_with_its_dates_swapped_reports_each_change_the_other_way_round():
    # The later image is shifted by about (0.9, 2.2) px: found on a resampled image, its roofs and
    # shadows differed from the same image's found on its own pixels, and the swapped pair lost
    # its structure change.
    aoi = read_aoi(AOIS / "camp22.geojson")
    before, after, _ = read_pair(PairRequest(SAMPLE / "camp22" / "camp22_2013-06-02.tif",
                                             SAMPLE / "camp22" / "camp22_2014-04-22.tif", aoi=aoi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        forward = analyse_scenes(before, after, aoi=aoi)
        back = analyse_scenes(dataclasses.replace(after, date=before.date),
                              dataclasses.replace(before, date=after.date), aoi=aoi)
    assert abs(forward.shift[1]) > 1.5
    named = {c: n for c, n in forward.summary().counts.items() if n and c != "other_change"}
    assert named == {"structure_demolished": 1, "tower_removed": 1}
    assert {c: n for c, n in back.summary().counts.items() if n and c != "other_change"} == {
        SWAPPED[c]: n for c, n in named.items()}
    # Pixel by pixel, on the first run's grid.
    offset = (int(round(forward.shift[0])), int(round(forward.shift[1])))
    back_classes = move_pixels(back.classes, offset, 0)
    swapped = np.zeros(256, dtype="uint8")
    for name, c in CLASSES.items():
        swapped[c.code] = CLASSES[SWAPPED.get(name, name)].code
    structure = np.isin(forward.classes, [CLASSES["structure_demolished"].code])
    assert structure.sum() > 800
    assert (swapped[forward.classes[structure]] == back_classes[structure]).mean() >= 0.99

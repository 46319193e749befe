"""A toy finder of a toy class, ``pond_new``: water (dark in every band) only in the later image.

tests/integration/test_new_class.py loads it as ``campwatch.detection.finders.ponds`` beside a
class table with a ``pond_new`` row and a ``ponds`` options section (``PondOptions``: how much
darker water is), as docs/development.md ("Adding a change class") shows.
"""

from __future__ import annotations

from skimage.measure import label, regionprops

from campwatch.detection.finders import Candidate, Evidence


def find(evidence: Evidence) -> list[Candidate]:
    """Changed areas that became dark in every band, of at least ``min_area_m2``."""
    before = evidence.before.data.astype("float32")
    after = evidence.after.data.astype("float32")
    options = evidence.config.ponds  # the class's own section (PondOptions)
    water = evidence.changed & (after < options.pond_darker * before).all(axis=0)
    groups = label(water, connectivity=2)
    min_px = evidence.config.min_region_px(evidence.before.pixel_area)
    out = []
    for prop in regionprops(groups):
        if prop.area >= min_px:
            sl = prop.slice
            out.append(Candidate("pond_new", sl, groups[sl] == prop.label, "dark in every band only later", 1.0))
    return out

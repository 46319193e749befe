"""Stretches of fence razed or built: along the AOI's fence lines, or the lines found in the imagery.

The lines and their contrast on each date are :mod:`campwatch.detection.fences`'; here they are
looked for in the clear (no cloud or veil on either date), away from the walls of structures.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy import ndimage

from campwatch.detection.fences import fence_changes
from campwatch.detection.finders import Evidence, LineChange
from campwatch.progress import tick

__all__ = ["find"]


def find(evidence: Evidence) -> Sequence[LineChange]:
    """The razed and built stretches of fence, each a line with its length (:meth:`FenceChange.region`)."""
    tick("finding fence lines on both dates")
    smap_b, smap_a = evidence.objects
    clear = evidence.usable & ~evidence.veiled[0] & ~evidence.veiled[1]
    walls = (smap_b.labels > 0) | (smap_a.labels > 0)
    if walls.any():
        walls = ndimage.binary_dilation(walls, iterations=max(1, int(round(2.0 / evidence.pixel_m))))
    return fence_changes(evidence.before, evidence.after, usable=clear, config=evidence.config.fences,
                         lines=evidence.fence_lines, exclude=walls, windows=evidence.windows)

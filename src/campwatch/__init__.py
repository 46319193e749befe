"""campwatch: change detection for monitoring camps from dated satellite imagery.

The pipeline for one pair of scenes, one module per stage::

    scene       read a dated GeoTIFF with its grid and valid mask
    aoi         read and validate an AOI file
    align       check two scenes share a grid; measure and correct a small shift
    radiometry  match the later scene's radiometry to the earlier one
    change      per-pixel change measures (magnitude, brightness, vegetation)
    threshold   automatic thresholds for gain and loss
    segment     clean up the change mask and label regions
    classify    say what each region is, in the analyst's terms
    vectorize   turn labelled regions into polygons with attributes
    report      write the GeoJSON report with provenance
    figures     draw the annotated change map
    pipeline    run the whole chain and write outputs atomically
"""

from __future__ import annotations

import logging

from campwatch._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

from campwatch.aoi import AOI, read_aoi  # noqa: E402
from campwatch.config import DetectConfig  # noqa: E402
from campwatch.errors import CampwatchError  # noqa: E402
from campwatch.pipeline import DetectResult, detect, run_detect  # noqa: E402
from campwatch.scene import Scene, read_scene  # noqa: E402

__all__ = [
    "AOI",
    "CampwatchError",
    "DetectConfig",
    "DetectResult",
    "Scene",
    "__version__",
    "detect",
    "read_aoi",
    "read_scene",
    "run_detect",
]

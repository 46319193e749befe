"""campwatch: change detection for monitoring camps from dated satellite imagery.

The package, in the order data flows through it::

    errors, classes, config   the vocabulary: errors, change classes, parameters
    io/           read scenes, AOI files, masks and pairs; write change masks, JSON, output sets
    detection/    the stages of the analysis of a pair: align, radiometry, change, threshold,
                  segment, obscured, structures, fences, classify, vectorize; analysis runs
                  them on a pair in memory, blocks on a pair larger than memory
    results       what the analysis of a pair returns
    publish/      views of a result, figures, the HTML report
    report        the GeoJSON report of a pair
    run           analyse a pair and write its outputs (``campwatch detect``)
    monitor/      change tracking, series, monthly checks and their history, batch, verify
    evaluate, inventory   scores against truth; features proposed from one image
    data/         the synthetic sample
    cli/          the ``campwatch`` command, one module per subcommand

A module imports only from the lines above its own.
"""

from __future__ import annotations

import logging

from campwatch._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

from campwatch.config import DetectConfig  # noqa: E402
from campwatch.errors import CampwatchError  # noqa: E402
from campwatch.io.aoi import AOI, read_aoi  # noqa: E402
from campwatch.io.pair import PairRequest  # noqa: E402
from campwatch.io.scene import Scene, read_scene  # noqa: E402
from campwatch.results import BlockwiseResult, DetectResult, PairResult  # noqa: E402
from campwatch.run import analyse_pair, detect, run_detect  # noqa: E402

__all__ = [
    "AOI",
    "BlockwiseResult",
    "CampwatchError",
    "DetectConfig",
    "DetectResult",
    "PairRequest",
    "PairResult",
    "Scene",
    "__version__",
    "analyse_pair",
    "detect",
    "read_aoi",
    "read_scene",
    "run_detect",
]

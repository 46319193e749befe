"""campwatch: change detection for monitoring camps from dated satellite imagery.

The package, in the order data flows through it::

    errors, document, grid, classes, sections, config   the vocabulary: errors, the documents
                  (schema names, provenance, changes, the files a run delivers), the analysed
                  grid, change classes, parameters (one section per stage)
    io/           read scenes, AOI files, masks, labels and pairs; write change masks, JSON, output sets
    detection/    the stages of the analysis of a pair: align, radiometry, change, threshold,
                  segment, obscured, structures, fences, classify, vectorize; model (a change
                  model run through onnxruntime) and features (a taught model's); results (the
                  changes found and what the analysis of a pair returns); then, a floor above
                  them, analysis runs them on a pair in memory, blocks on a pair larger than memory
    publish/      views of a result, figures, the HTML report
    report        the GeoJSON report of a pair
    run           analyse a pair and write its outputs (``campwatch detect``)
    monitor/      change tracking, series, monthly checks and their history, reviews, batch, verify
    evaluate, inventory, teach   scores against truth; features proposed from one image; a model
                  taught from the analyst's labels
    data/         the synthetic sample
    cli/          the ``campwatch`` command, one module per subcommand

A module imports only from its own line and the lines above it (``tests/unit/test_architecture.py``).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from campwatch._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from campwatch.config import DetectConfig
    from campwatch.detection.results import BlockwiseResult, DetectResult, PairResult
    from campwatch.errors import CampwatchError
    from campwatch.io.aoi import AOI, read_aoi
    from campwatch.io.pair import PairRequest
    from campwatch.io.scene import Scene, read_scene
    from campwatch.run import analyse_pair, detect, run_detect

#: Where each name of the package's own namespace lives; imported on first use, so that
#: importing one module of campwatch loads only what that module needs.
_PUBLIC = {
    "AOI": "campwatch.io.aoi",
    "BlockwiseResult": "campwatch.detection.results",
    "CampwatchError": "campwatch.errors",
    "DetectConfig": "campwatch.config",
    "DetectResult": "campwatch.detection.results",
    "PairRequest": "campwatch.io.pair",
    "PairResult": "campwatch.detection.results",
    "Scene": "campwatch.io.scene",
    "analyse_pair": "campwatch.run",
    "detect": "campwatch.run",
    "read_aoi": "campwatch.io.aoi",
    "read_scene": "campwatch.io.scene",
    "run_detect": "campwatch.run",
}

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


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'campwatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

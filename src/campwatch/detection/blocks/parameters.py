"""The scene's own parameters, chosen once on sample blocks spread over it: one shift, one noise level, one pair
of thresholds, one radiometric fit and the shadows' directions, so that each means the same in every block."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from campwatch.detection.analysis import PairParameters, SceneParameters, pair_parameters
from campwatch.detection.blocks.job import BlockJob, Runner, inside_aoi, read_block
from campwatch.detection.blocks.plan import (
    SAMPLE_BLOCKS,
    SAMPLE_PX,
    Block,
    centre,
    sample_blocks,
)
from campwatch.detection.radiometry import LinearFit
from campwatch.detection.threshold import Thresholds
from campwatch.errors import InputError
from campwatch.progress import start

__all__ = ["SampledScene", "sample_parameters", "scene_parameters"]


@dataclass(frozen=True)
class SampledScene:
    """The scene's parameters, the sample blocks (row, col) they were measured on, and the notes of reading them."""

    #: Thresholds, shift, shadow directions, radiometric fit (median gain and offset of each band, None unless
    #: ``normalize`` is ``"invariant"`` or ``"offset"``), noise sigmas and the clouds' thresholds: medians.
    parameters: SceneParameters
    sampled: list[tuple[int, int]]
    notes: list[str]


def _mean_direction(found: list[tuple[tuple[float, float], int]]) -> tuple[float, float] | None:
    """The mean of unit vectors weighted by pixels; None when there are none or they disagree."""
    if not found:
        return None
    v = np.array([d for d, _ in found], dtype="float64")
    w = np.array([n for _, n in found], dtype="float64")
    mean = (v * w[:, None]).sum(axis=0) / w.sum()
    length = float(np.hypot(*mean))
    return None if length < 0.5 else (round(float(mean[0] / length), 4), round(float(mean[1] / length), 4))


def sample_parameters(job: BlockJob, blk: Block) -> tuple[PairParameters | None, list[str]]:
    """What a sample block (the centre of ``blk``, :func:`centre`) says of the scene, and the notes of reading it.

    None when the block has no pixel inside the AOI valid on both dates.
    """
    blk = centre(blk, SAMPLE_PX)
    if not inside_aoi(job, blk).any():
        return None, []
    before, after, read_notes = read_block(job, blk)
    try:
        return pair_parameters(before, after, aoi=job.request.aoi, config=job.config, mask=job.request.mask), read_notes
    except InputError:
        return None, read_notes


def scene_parameters(blocks: list[Block], job: BlockJob, run: Runner) -> SampledScene:
    """Thresholds, radiometric fit and noise sigmas (medians), shift (median of those measured) and
    shadow directions of sample blocks with data.

    A scene has one noise level: taking it from the whole scene rather than from each
    block makes a threshold mean the same in every block. The scene's radiometric fit is
    the fallback of a block whose own fit a change has taken over (see
    :data:`campwatch.detection.analysis.MAX_FIT_DEPARTURE`).

    When none of the spread-out blocks has data on both dates, every other block is tried in
    turn until one has.
    """
    gains: list[float] = []
    losses: list[float] = []
    clouds: list[tuple[float, float]] = []
    fits: list[LinearFit] = []
    sigmas: list[tuple[float, ...]] = []
    shifts: list[tuple[float, float]] = []
    used: list[tuple[int, int]] = []
    notes: list[str] = []
    directions: tuple[list[tuple[tuple[float, float], int]], ...] = ([], [])
    config = job.config
    method = config.thresholds.threshold_method
    chosen = sample_blocks(blocks, SAMPLE_BLOCKS)
    rest = [b for b in blocks if b not in chosen]
    task = start("sample block", len(chosen), "choosing the scene's shift, thresholds and radiometry")

    def measured() -> Iterator[tuple[Block, PairParameters | None, list[str]]]:
        # The spread-out blocks at once (in the workers); the others one at a time, until one has data.
        yield from ((b, *out) for b, out in zip(chosen, run(sample_parameters, job, chosen), strict=True))
        for b in rest:
            if used:
                return
            yield (b, *sample_parameters(job, b))

    for blk, found, read_notes in measured():
        task.advance(f"sample block {blk.index[0]},{blk.index[1]}")
        notes += read_notes
        if found is None:
            continue  # no data in this block
        gains.append(found.thresholds.gain)
        losses.append(found.thresholds.loss)
        if found.cloud_thresholds is not None:
            clouds.append((found.cloud_thresholds.gain, found.cloud_thresholds.loss))
        sigmas.append(found.sigma)
        if found.fit is not None:
            fits.append(found.fit)
        method = found.thresholds.method
        used.append(blk.index)
        if found.shift is not None:
            shifts.append(found.shift)
        for i, d in enumerate(found.shadow_directions):
            if d is not None:
                directions[i].append((d, found.analysed_px))
    if not used:
        raise InputError("no block of the AOI has pixels valid on both dates")
    shift = (0.0, 0.0)
    if shifts:
        shift = (round(float(np.median([s[0] for s in shifts])), 3), round(float(np.median([s[1] for s in shifts])), 3))
    else:
        notes.append("the shift between the images could not be measured on any sample block; taken as co-registered")
    fit = None
    if fits:
        fit = LinearFit(gain=tuple(float(v) for v in np.median([f.gain for f in fits], axis=0)),
                        offset=tuple(float(v) for v in np.median([f.offset for f in fits], axis=0)))
    return SampledScene(
        parameters=SceneParameters(
            thresholds=Thresholds(float(np.median(gains)), float(np.median(losses)), method), shift=shift,
            shadow_directions=(_mean_direction(directions[0]), _mean_direction(directions[1])),
            fit=fit, sigma=tuple(float(v) for v in np.median(sigmas, axis=0)),
            cloud_thresholds=Thresholds(float(np.median([c[0] for c in clouds])),
                                        float(np.median([c[1] for c in clouds])), "noise") if clouds else None),
        sampled=used, notes=notes)

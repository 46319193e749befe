"""Automatic thresholds of the change magnitude, separately for gain (brighter) and loss (darker)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.filters import threshold_otsu

from campwatch.config import ThresholdOptions
from campwatch.detection.change import ChangeMeasures

__all__ = ["Thresholds", "choose_thresholds", "noise_floor", "noise_threshold"]


@dataclass(frozen=True)
class Thresholds:
    """Thresholds on the standardised change magnitude, and how they were chosen."""

    gain: float
    loss: float
    method: str
    #: The least an automatic threshold may be (:func:`noise_floor`); 0 when not measured.
    floor: float = 0.0

    def to_dict(self) -> dict[str, float | str]:
        """For the report."""
        out: dict[str, float | str] = {"gain": round(self.gain, 4), "loss": round(self.loss, 4), "method": self.method}
        if self.floor:
            out["floor"] = round(self.floor, 4)
        return out


def noise_floor(measures: ChangeMeasures, config: ThresholdOptions) -> float:
    """The least an automatic threshold may be: ``noise_floor_k`` times the pixels' own noise, in the
    units of the magnitude (noise sigmas of the difference).

    Where nothing changed, the difference of two images is their pixels' own noise (sensor,
    quantisation, compression: ``measures.pixel_noise``). Otsu's threshold of a difference that
    is only that noise splits the noise itself; no threshold at or above ``noise_floor_k`` times
    that noise can be crossed by it. In a real pair the scene's differences are many times the
    pixels' noise and the floor lies far below the threshold chosen.
    """
    ratios = [n / s for n, s in zip(measures.pixel_noise, measures.sigma, strict=False) if s > 0]
    if not ratios:
        return 0.0
    return config.noise_floor_k * float(np.sqrt(np.mean(np.square(ratios))))


def noise_threshold(values: np.ndarray, *, k: float = 4.0) -> float:
    """Return ``median + k * robust sigma`` of ``values``: the top of their noise."""
    if values.size == 0:
        return float("inf")
    med = float(np.median(values))
    return med + k * float(1.4826 * np.median(np.abs(values - med)))


def _otsu(values: np.ndarray) -> float:
    if values.size < 2 or float(values.min()) == float(values.max()):
        return float("inf")
    return float(threshold_otsu(values))


def _one(values: np.ndarray, noise_values: np.ndarray, config: ThresholdOptions) -> float:
    noise = noise_threshold(noise_values, k=config.noise_k)
    if config.threshold_method == "noise":
        return noise
    otsu = _otsu(values)
    if config.threshold_method == "otsu":
        return otsu
    if not np.isfinite(otsu):
        return noise
    return min(otsu, noise) if config.threshold_method == "either" else max(otsu, noise)


def choose_thresholds(measures: ChangeMeasures, config: ThresholdOptions) -> Thresholds:
    """Choose gain and loss thresholds for ``measures`` as ``config`` says.

    Gain pixels are those whose mean standardised difference is positive (brighter),
    loss pixels the others. The noise threshold is taken over ``measures.noise_reference``
    (pixels that should not have changed). An automatic threshold is never under
    :func:`noise_floor`. A threshold given in ``config`` overrides the automatic one.
    """
    valid = measures.valid
    mag = measures.magnitude[valid]
    brighter = measures.brightness[valid] > 0
    noise = measures.magnitude[measures.noise_reference & valid]
    if noise.size == 0:
        noise = mag
    gain = config.gain_threshold
    loss = config.loss_threshold
    floor = noise_floor(measures, config)
    if gain is None:
        gain = max(_one(mag[brighter], noise, config), floor)
    if loss is None:
        loss = max(_one(mag[~brighter], noise, config), floor)
    manual = config.gain_threshold is not None or config.loss_threshold is not None
    return Thresholds(
        gain=float(gain),
        loss=float(loss),
        method=config.threshold_method + ("+manual" if manual else ""),
        floor=floor,
    )

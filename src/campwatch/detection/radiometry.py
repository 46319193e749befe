"""Match the later scene's radiometry to the earlier one's, over pixels valid in both."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from campwatch.io.scene import Scene

__all__ = [
    "LinearFit",
    "fit_departure",
    "fit_invariant",
    "invariant_candidates",
    "invariant_fit",
    "match_histograms",
    "normalize",
]


def match_histograms(
    image: np.ndarray, reference: np.ndarray, mask: np.ndarray, *, quantiles: int = 1024
) -> np.ndarray:
    """Map ``image``'s values so that their distribution over ``mask`` matches ``reference``'s.

    Per band, by interpolating between ``quantiles`` matched quantiles. This is
    ``skimage.exposure.match_histograms`` restricted to a mask, which skimage does not offer.

    Parameters
    ----------
    image, reference : (B, M, N) ndarray
    mask : (M, N) ndarray of bool
        Pixels whose distributions are matched. Pixels outside it are mapped too.

    Returns
    -------
    (B, M, N) ndarray of float32
    """
    out = np.empty(image.shape, dtype="float32")
    q = np.linspace(0.0, 1.0, quantiles)
    for b in range(image.shape[0]):
        src = image[b][mask]
        ref = reference[b][mask]
        if src.size == 0:
            out[b] = image[b]
            continue
        src_q = np.quantile(src, q)
        ref_q = np.quantile(ref, q)
        # Flat stretches of src_q (many equal values) must map to one value.
        src_q, idx = np.unique(src_q, return_index=True)
        ref_q = ref_q[idx]
        if src_q.size == 1:
            out[b] = image[b] - src_q[0] + ref_q[0]
        else:
            out[b] = np.interp(image[b], src_q, ref_q)
    return out


def invariant_candidates(
    image: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray,
    band_names: tuple[str | None, ...],
    *,
    max_ndvi: float = 0.25,
    min_share: float = 0.01,
) -> np.ndarray:
    """Pixels that may serve as pseudo-invariant features: lit and not green on both dates.

    Man-made surfaces (roofs, roads, yards) and bare ground keep their reflectance across
    seasons; vegetation and shadows do not (Schott et al., 1988). Falls back to ``mask``
    when fewer than ``min_share`` of its pixels qualify.
    """
    keep = mask.copy()
    for data in (image, reference):
        bright = data.mean(axis=0)
        level = float(np.median(bright[mask])) if mask.any() else 0.0
        keep &= bright >= 0.6 * level
        if "red" in band_names and "nir" in band_names:
            red = data[band_names.index("red")]
            nir = data[band_names.index("nir")]
            with np.errstate(divide="ignore", invalid="ignore"):
                nd = np.where(nir + red > 0, (nir - red) / (nir + red), 0.0)
            keep &= nd <= max_ndvi
    if keep.sum() < min_share * max(1, int(mask.sum())):
        return mask
    return keep


def _even_sample(mask: np.ndarray, max_samples: int) -> np.ndarray:
    """Flat indices of at most about ``max_samples`` of ``mask``'s pixels, evenly spaced (deterministic)."""
    where = np.flatnonzero(mask)
    return where[:: max(1, where.size // max_samples)]


@dataclass(frozen=True)
class LinearFit:
    """A gain and an offset per band that map one scene's values onto another's."""

    gain: tuple[float, ...]
    offset: tuple[float, ...]

    def apply(self, image: np.ndarray) -> np.ndarray:
        """``gain * image + offset`` band by band, as (B, M, N) float32 (no float64 copy of the image)."""
        if image.shape[0] != len(self.gain):
            raise ValueError(f"a fit of {len(self.gain)} bands applied to an image of {image.shape[0]}")
        out = np.empty(image.shape, dtype="float32")
        for b in range(image.shape[0]):
            np.multiply(image[b], np.float32(self.gain[b]), out=out[b], dtype="float32", casting="unsafe")
            out[b] += np.float32(self.offset[b])
        return out

    def to_dict(self) -> dict[str, list[float]]:
        """For the report."""
        return {"gain": [round(g, 5) for g in self.gain], "offset": [round(o, 3) for o in self.offset]}

    @classmethod
    def identity(cls, bands: int) -> LinearFit:
        return cls(gain=(1.0,) * bands, offset=(0.0,) * bands)


def fit_invariant(
    image: np.ndarray, reference: np.ndarray, mask: np.ndarray, *, iterations: int = 3, keep: float = 0.5,
    max_samples: int = 250_000,
) -> LinearFit:
    """Fit a gain and an offset per band mapping ``image`` onto ``reference`` over pixels that did not change.

    Pseudo-invariant features: start from a robust fit (median and MAD per band) over
    ``mask`` (best: :func:`invariant_candidates`), then repeatedly keep the ``keep``
    fraction of pixels with the smallest change and match mean and standard deviation
    over them. Clouds, new roofs and fields change a lot and so drop out of the fit; a
    sensor's gain and offset or a thin haze do not.

    Parameters
    ----------
    image, reference : (B, M, N) ndarray
    mask : (M, N) ndarray of bool
        Pixels that may serve for the fit.
    """
    nb = image.shape[0]
    # A fit of a gain and an offset per band needs no more than a few hundred thousand
    # pixels: take an even sample of them (deterministic), so large scenes cost no more.
    where = _even_sample(mask, max_samples)
    src = image.reshape(nb, -1)[:, where].astype("float64")
    ref = reference.reshape(nb, -1)[:, where].astype("float64")
    if src.shape[1] < 10:
        return LinearFit.identity(nb)
    gain = np.ones(nb)
    offset = np.zeros(nb)
    for b in range(nb):
        ms, mr = np.median(src[b]), np.median(ref[b])
        ds = np.median(np.abs(src[b] - ms))
        dr = np.median(np.abs(ref[b] - mr))
        gain[b] = dr / ds if ds > 0 else 1.0
        offset[b] = mr - gain[b] * ms
    for _ in range(iterations):
        diff = gain[:, None] * src + offset[:, None] - ref
        scale = 1.4826 * np.median(np.abs(diff - np.median(diff, axis=1, keepdims=True)), axis=1)
        scale = np.where(scale > 0, scale, 1.0)
        mag = np.sqrt(np.mean((diff / scale[:, None]) ** 2, axis=0))
        sel = mag <= np.quantile(mag, keep)
        for b in range(nb):
            s_std = src[b, sel].std()
            gain[b] = ref[b, sel].std() / s_std if s_std > 0 else 1.0
            offset[b] = ref[b, sel].mean() - gain[b] * src[b, sel].mean()
    return LinearFit(gain=tuple(float(g) for g in gain), offset=tuple(float(o) for o in offset))


def fit_departure(
    fit: LinearFit, other: LinearFit, image: np.ndarray, mask: np.ndarray, sigma: tuple[float, ...],
    *, max_samples: int = 100_000,
) -> float:
    """How far apart two fits map ``image``: the median over ``mask`` of ``|fit(x) - other(x)|``
    in units of each band's noise ``sigma``, root mean square over bands."""
    where = _even_sample(mask, max_samples)
    if where.size == 0:
        return 0.0
    x = image.reshape(image.shape[0], -1)[:, where].astype("float64")
    per_band = [
        float(np.median(np.abs((fit.gain[b] - other.gain[b]) * x[b] + fit.offset[b] - other.offset[b])))
        / max(float(sigma[b]), 1e-9)
        for b in range(image.shape[0])
    ]
    return float(np.sqrt(np.mean(np.square(per_band))))


def invariant_fit(reference: Scene, scene: Scene) -> LinearFit:
    """The :func:`fit_invariant` of ``scene`` onto ``reference`` over pixels valid in both."""
    both = reference.valid & scene.valid
    candidates = invariant_candidates(scene.data, reference.data, both, scene.band_names)
    return fit_invariant(scene.data, reference.data, candidates)


def normalize(reference: Scene, scene: Scene, *, method: str = "invariant", fit: LinearFit | None = None) -> Scene:
    """Return ``scene`` with its radiometry matched to ``reference`` over pixels valid in both.

    ``method``: ``"invariant"`` (linear, on pseudo-invariant pixels; see
    :func:`fit_invariant`), ``"histogram"`` (:func:`match_histograms`) or ``"none"``.
    ``fit``: for ``"invariant"``, apply this fit instead of making one (a block that a
    change has taken over takes its scene's).
    """
    if method == "none":
        return scene
    if method == "histogram":
        data = match_histograms(scene.data, reference.data, reference.valid & scene.valid)
    else:
        data = (fit if fit is not None else invariant_fit(reference, scene)).apply(scene.data)
    data[:, ~scene.valid] = 0
    return dataclasses.replace(scene, data=data)

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
    "offset_fit",
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

    def halfway(self) -> tuple[LinearFit, LinearFit]:
        """The fits that take the mapped scene and the reference to the radiometry half-way between them.

        With ``reference ~ g * image + o``, the image goes to ``m * image + o / (2m)`` and the
        reference to ``reference / m - o / (2m)``, ``m = sqrt(g)``: the two meet, and a pair
        analysed the other way round (whose fit is the inverse) meets in the same radiometry.
        What is measured there on each date (its vegetation) does not depend on which date is
        the earlier.
        """
        m = tuple(float(np.sqrt(max(g, 1e-6))) for g in self.gain)
        image = LinearFit(gain=m, offset=tuple(o / (2 * k) for o, k in zip(self.offset, m, strict=True)))
        reference = LinearFit(gain=tuple(1 / k for k in m),
                              offset=tuple(-o / (2 * k) for o, k in zip(self.offset, m, strict=True)))
        return image, reference

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


def invariant_fit(reference: Scene, scene: Scene, *, min_correlation: float = 0.65,
                  max_samples: int = 250_000) -> LinearFit:
    """The :func:`fit_invariant` of ``scene`` onto ``reference`` over pixels valid in both, where the two
    agree pixel for pixel; else the :func:`offset_fit` alone.

    A gain is measured from the spread of values, and that spread says something of the
    sensor only where both dates show the same things: over the pseudo-invariant pixels,
    the correlation of the dates (Pearson's, averaged over bands) must reach
    ``min_correlation``. Another sensor gain or bit depth keeps it high (0.69 with a third of
    the scene changed, 0.9 and more without); years of building, other shadows and a
    mosaic's seams bring it low (LEVIR-CD and DSIFN-CD pairs: -0.1 to 0.59), and a gain
    fitted there matches the change away.
    """
    both = reference.valid & scene.valid
    candidates = invariant_candidates(scene.data, reference.data, both, scene.band_names)
    if _correlation(scene.data, reference.data, candidates, max_samples) < min_correlation:
        return _offset(scene.data, reference.data, candidates, max_samples)
    return fit_invariant(scene.data, reference.data, candidates, max_samples=max_samples)


def _correlation(image: np.ndarray, reference: np.ndarray, mask: np.ndarray, max_samples: int) -> float:
    """Pearson's correlation of ``image`` and ``reference`` over an even sample of ``mask``, averaged over bands
    (0 where a band is constant or fewer than 10 pixels are given)."""
    where = _even_sample(mask, max_samples)
    if where.size < 10:
        return 0.0
    nb = image.shape[0]
    src = image.reshape(nb, -1)[:, where].astype("float64")
    ref = reference.reshape(nb, -1)[:, where].astype("float64")
    rs = []
    for b in range(nb):
        ds, dr = src[b] - src[b].mean(), ref[b] - ref[b].mean()
        norm = float(np.sqrt((ds * ds).sum() * (dr * dr).sum()))
        rs.append(float((ds * dr).sum()) / norm if norm > 0 else 0.0)
    return float(np.mean(rs))


def _offset(image: np.ndarray, reference: np.ndarray, mask: np.ndarray, max_samples: int) -> LinearFit:
    """Gain 1 and the median difference of each band over an even sample of ``mask``."""
    where = _even_sample(mask, max_samples)
    nb = image.shape[0]
    if where.size == 0:
        return LinearFit.identity(nb)
    src = image.reshape(nb, -1)[:, where]
    ref = reference.reshape(nb, -1)[:, where]
    offset = np.median(ref.astype("float64") - src, axis=1)
    return LinearFit(gain=(1.0,) * nb, offset=tuple(float(o) for o in offset))


def offset_fit(reference: Scene, scene: Scene, *, max_samples: int = 250_000) -> LinearFit:
    """The median difference of each band between ``reference`` and ``scene`` over pseudo-invariant pixels,
    as a :class:`LinearFit` of gain 1: a haze or a sensor's offset, and nothing that the content of
    the scenes could set.

    A gain fitted from the spread of values is set by what the scenes show as much as by
    the sensor: years of building raise a scene's contrast, and matching it away hides the
    buildings (LEVIR-CD: fitted gains of 0.2 to 2.3 between dates of one mosaic).
    """
    both = reference.valid & scene.valid
    candidates = invariant_candidates(scene.data, reference.data, both, scene.band_names)
    return _offset(scene.data, reference.data, candidates, max_samples)


def normalize(reference: Scene, scene: Scene, *, method: str = "invariant", fit: LinearFit | None = None) -> Scene:
    """Return ``scene`` with its radiometry matched to ``reference`` over pixels valid in both.

    ``method``: ``"invariant"`` (linear, on pseudo-invariant pixels; see
    :func:`fit_invariant`), ``"offset"`` (:func:`offset_fit`), ``"histogram"``
    (:func:`match_histograms`) or ``"none"``. ``fit``: for ``"invariant"`` and ``"offset"``,
    apply this fit instead of making one (a block that a change has taken over takes its
    scene's).
    """
    if method == "none":
        return scene
    if method == "histogram":
        data = match_histograms(scene.data, reference.data, reference.valid & scene.valid)
    else:
        if fit is None:
            fit = offset_fit(reference, scene) if method == "offset" else invariant_fit(reference, scene)
        data = fit.apply(scene.data)
    data[:, ~scene.valid] = 0
    return dataclasses.replace(scene, data=data)

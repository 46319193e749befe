"""Pixel features of a pair for a taught change model: what each date looks like, and how it changed, at 1 to 16 px.

A taught model (``campwatch teach``) is a classifier of pixels, exported to ONNX. campwatch
computes its features before the graph, from both dates in the model's bands scaled to
0..1 (as :meth:`campwatch.detection.model.ChangeModel.prepare` gives them): the card names
the feature set by a versioned name (:data:`FEATURE_SETS`), so that a model is only ever fed
the features it was taught on. A new set, or any change to one, gets a new name.

``campwatch-pixel/1``, for ``C`` bands (``3 C + 38`` features, in this order):

- per band: the earlier date, the later date, their difference (``3 C``);
- the length of the band-wise difference after a Gaussian blur of sigma 1, 2, 4, 8, 16 px (5);
- of the band mean (grey) at sigma 1, 2, 4, 8 px: the Gaussian mean of each date, the local
  standard deviation of each date and their difference, and the local correlation of the
  two dates (6 each, 24);
- the gradient length of the blurred grey at sigma 1, 2, 4 px on each date, and its
  difference (9).

Gaussians are OpenCV's (``cv2.GaussianBlur``, kernel of 4 sigma either side, border
reflected without repeating the edge pixel), gradients Sobel's on the blurred grey. Every
feature at a pixel depends on pixels at most :data:`FEATURE_HALO_PX` away, so that features
computed on tiles with that halo equal those of the whole scene (:func:`tile_windows`).

Notes
-----
Memory: ``3 C + 38`` float32 arrays of the tile's size (47 at three bands), plus a few
temporaries; tiles of 512 px with their halo hold about 80 MB of features.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

__all__ = ["FEATURE_SETS", "DEFAULT_FEATURE_SET", "FEATURE_HALO_PX", "pixel_features", "feature_names",
           "feature_count", "tile_windows", "check_feature_set"]

#: The feature sets campwatch computes, by name: the version is part of the name.
FEATURE_SETS = ("campwatch-pixel/1",)
DEFAULT_FEATURE_SET = FEATURE_SETS[0]

_DIFF_SIGMAS = (1, 2, 4, 8, 16)
_TEXTURE_SIGMAS = (1, 2, 4, 8)
_EDGE_SIGMAS = (1, 2, 4)
#: How far a feature reaches: the widest Gaussian's kernel (4 sigma of 16 px), and one pixel of Sobel.
FEATURE_HALO_PX = 4 * max(_DIFF_SIGMAS) + 2

#: Correlation of two flat patches is undefined: this much spread (of 0..1 grey) keeps it finite.
_EPS = 1e-3


def check_feature_set(name: str) -> None:
    """Raise ValueError unless campwatch computes the feature set ``name``."""
    if name not in FEATURE_SETS:
        raise ValueError(f"feature set {name!r} is not one campwatch computes ({', '.join(FEATURE_SETS)}); "
                         "teach the model again with this campwatch")


def feature_names(bands: tuple[str, ...] | list[str], name: str = DEFAULT_FEATURE_SET) -> list[str]:
    """The names of the features of ``name`` for ``bands``, in the order :func:`pixel_features` stacks them."""
    check_feature_set(name)
    out = [f"{when}_{b}" for when in ("before", "after", "difference") for b in bands]
    out += [f"difference_blur_{s}px" for s in _DIFF_SIGMAS]
    for s in _TEXTURE_SIGMAS:
        out += [f"grey_mean_before_{s}px", f"grey_mean_after_{s}px", f"grey_std_before_{s}px",
                f"grey_std_after_{s}px", f"grey_std_difference_{s}px", f"grey_correlation_{s}px"]
    for s in _EDGE_SIGMAS:
        out += [f"gradient_before_{s}px", f"gradient_after_{s}px", f"gradient_difference_{s}px"]
    return out


def feature_count(bands: int, name: str = DEFAULT_FEATURE_SET) -> int:
    """How many features ``name`` has for ``bands`` bands."""
    check_feature_set(name)
    return 3 * bands + len(_DIFF_SIGMAS) + 6 * len(_TEXTURE_SIGMAS) + 3 * len(_EDGE_SIGMAS)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    k = 2 * int(4 * sigma) + 1
    return cv2.GaussianBlur(x, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)


def pixel_features(before: np.ndarray, after: np.ndarray, name: str = DEFAULT_FEATURE_SET) -> np.ndarray:
    """The features of every pixel of a pair.

    Parameters
    ----------
    before, after : (C, M, N) ndarray of float32
        Both dates in the model's bands, scaled to 0..1 (invalid pixels hold any value:
        they are not classified).
    name : str
        The feature set (:data:`FEATURE_SETS`).

    Returns
    -------
    (F, M, N) ndarray of float32
        ``F = feature_count(C, name)`` features, named by :func:`feature_names`.

    Raises
    ------
    ValueError
        For a feature set campwatch does not compute, or dates of different shapes.
    """
    check_feature_set(name)
    if before.shape != after.shape or before.ndim != 3:
        raise ValueError(f"both dates must be (C, M, N) arrays of one shape; got {before.shape} and {after.shape}")
    a = np.ascontiguousarray(before, dtype="float32")
    b = np.ascontiguousarray(after, dtype="float32")
    out = np.empty((feature_count(a.shape[0], name),) + a.shape[1:], dtype="float32")
    k = 0
    for x in (a, b, b - a):
        out[k:k + x.shape[0]] = x
        k += x.shape[0]
    d = b - a
    for s in _DIFF_SIGMAS:
        acc = np.zeros(a.shape[1:], "float32")
        for band in d:
            blurred = _blur(band, s)
            acc += blurred * blurred
        out[k] = np.sqrt(acc)
        k += 1
    ga, gb = a.mean(axis=0), b.mean(axis=0)
    for s in _TEXTURE_SIGMAS:
        ma, mb = _blur(ga, s), _blur(gb, s)
        va = np.sqrt(np.maximum(_blur(ga * ga, s) - ma * ma, 0.0))
        vb = np.sqrt(np.maximum(_blur(gb * gb, s) - mb * mb, 0.0))
        cov = _blur(ga * gb, s) - ma * mb
        out[k:k + 6] = (ma, mb, va, vb, vb - va, cov / (va * vb + _EPS * _EPS))
        k += 6
    for s in _EDGE_SIGMAS:
        edges = []
        for g in (ga, gb):
            blurred = _blur(g, s)
            gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101)
            gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101)
            edges.append(np.sqrt(gx * gx + gy * gy))
        out[k:k + 3] = (edges[0], edges[1], edges[1] - edges[0])
        k += 3
    return out


def tile_windows(shape: tuple[int, int], tile: int, halo: int = FEATURE_HALO_PX
                 ) -> Iterator[tuple[tuple[slice, slice], tuple[slice, slice]]]:
    """Tiles that cover an (M, N) grid: for each, the window read (the tile and its halo, within
    the grid) and, within that window, the tile itself.

    Features computed on each window and cut to its tile are those of the whole grid: every
    feature reaches at most ``halo`` pixels, and at the grid's edges the window's edge is the
    grid's own.
    """
    rows, cols = shape
    for r0 in range(0, rows, tile):
        for c0 in range(0, cols, tile):
            r1, c1 = min(rows, r0 + tile), min(cols, c0 + tile)
            wr0, wc0 = max(0, r0 - halo), max(0, c0 - halo)
            wr1, wc1 = min(rows, r1 + halo), min(cols, c1 + halo)
            yield ((slice(wr0, wr1), slice(wc0, wc1)),
                   (slice(r0 - wr0, r1 - wr0), slice(c0 - wc0, c1 - wc0)))

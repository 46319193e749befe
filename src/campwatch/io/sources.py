"""Which files campwatch may read: local files only, links that stay in their folder, rasters GDAL opens.

A raster input may name other files (a VRT its sources, a ``.TIL`` its tiles); each is
checked before GDAL is asked to open it, so that no input makes campwatch reach the
network or run code.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from campwatch.errors import SceneError
from campwatch.io.gdal import vector_gdal_off_network

__all__ = ["check_local", "check_local_vector", "check_inside", "open_raster", "read_metadata_text", "MAX_VRT_DEPTH",
           "MAX_METADATA_BYTES", "READ_DRIVERS", "check_size", "MAX_BANDS", "MAX_SIDE_PX"]

#: The largest metadata file campwatch reads (a delivery's are a few kilobytes).
MAX_METADATA_BYTES = 5_000_000


def read_metadata_text(path: Path) -> str:
    """The text of a metadata file (``.TIL``, JSON, XML) no larger than :data:`MAX_METADATA_BYTES`.

    Raises
    ------
    SceneError
        Naming the file and its size when it is larger.
    """
    size = path.stat().st_size
    if size > MAX_METADATA_BYTES:
        raise SceneError(f"{path}: a metadata file of {size:,} bytes; campwatch reads at most "
                         f"{MAX_METADATA_BYTES:,}")
    return path.read_text(encoding="utf-8", errors="replace")

#: The GDAL drivers campwatch opens an image with, by its name's suffix: no other (a GDAL_WMS XML named
#: .tif, an OGR VRT) is asked to open a file, whatever its content.
READ_DRIVERS: dict[str, str] = {
    ".tif": "GTiff", ".tiff": "GTiff", ".vrt": "VRT", ".jp2": "JP2OpenJPEG", ".ntf": "NITF",
    ".til": "TIL", ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG",
}

#: The signature of an SQLite file, which a GeoPackage is.
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_local_vector(path: str | Path, *, what: str) -> None:
    """Refuse a vector file (a history, labels, truth) that is not a local GeoPackage or GeoJSON.

    The GDAL that pyogrio bundles opens a file by its content, whatever its name: an OGR VRT
    named ``history.gpkg`` reaches the network. Only a file that starts as an SQLite file (a
    GeoPackage) or as JSON is handed to it.

    Raises
    ------
    SceneError
        Naming the file and what it is not.
    """
    vector_gdal_off_network()  # whoever calls, pyogrio's GDAL runs with network access off
    text = str(path)
    if _REMOTE.match(text):
        raise SceneError(f"{what} {text}: a remote or virtual source; campwatch reads local files only")
    path = Path(path)
    if not path.is_file():
        return  # the caller says what is missing
    with open(path, "rb") as f:
        head = f.read(64)
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not (head.startswith(SQLITE_MAGIC) or body.startswith((b"{", b"["))):
        raise SceneError(f"{what} {path}: not a GeoPackage or a GeoJSON file (it starts {head[:16]!r}); campwatch "
                         "reads those only")


#: How deep VRTs that name other VRTs are followed before campwatch gives up on a file.
MAX_VRT_DEPTH = 8

#: A path GDAL would take to a virtual file system or a URL: /vsicurl/..., http://..., s3://...
_REMOTE = re.compile(r"^(/vsi|[A-Za-z][A-Za-z0-9+.-]+:/)")


def check_local(path: str | Path, *, _depth: int = 0) -> None:
    """Refuse a raster that would make GDAL reach the network or run code.

    A path in a virtual file system (``/vsicurl/``, ``/vsis3/``, ... ) or with a URL scheme is
    refused; so is a VRT (XML) that names such a source, or a source that does (nested VRTs
    followed up to :data:`MAX_VRT_DEPTH`), or that holds a Python pixel function.

    Raises
    ------
    SceneError
        Naming the file and the source it refers to.
    """
    text = str(path)
    if _REMOTE.match(text):
        raise SceneError(f"{text}: a remote or virtual source; campwatch reads local files only")
    path = Path(path)
    if not path.is_file():
        return
    if path.suffix.lower() == ".til":
        _check_til(path)
        return
    with open(path, "rb") as f:
        head = f.read(512).removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<"):
        return  # not XML: GDAL's drivers of files, each allowed by name (:data:`READ_DRIVERS`)
    if _depth >= MAX_VRT_DEPTH:
        raise SceneError(f"{path}: VRTs nested more than {MAX_VRT_DEPTH} deep; campwatch stops there")
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SceneError(f"{path}: not a readable VRT ({exc})") from exc
    if root.tag != "VRTDataset" or path.suffix.lower() != ".vrt":
        # A GDAL_WMS, WCS or OGR VRT description reaches the network; an image named .tif is a TIFF.
        raise SceneError(f"{path}: an XML file ({str(root.tag)[:40]}), not an image campwatch reads (a GeoTIFF, or a "
                         "VRT named .vrt); campwatch reads local images only")
    for node in root.iter():
        if node.tag == "PixelFunctionLanguage" and (node.text or "").strip().lower() == "python":
            raise SceneError(f"{path}: holds a Python pixel function; campwatch runs no code from its inputs")
        text = (node.text or "").strip()
        if _REMOTE.match(text):
            raise SceneError(f"{path}: refers to the remote or virtual source {text[:200]!r}; campwatch reads "
                             "local files only")
        if node.tag not in ("SourceFilename", "SourceDataset"):  # a warped VRT names its source so
            continue
        source = text
        if _REMOTE.match(source):
            raise SceneError(f"{path}: refers to the remote or virtual source {source[:200]!r}; campwatch reads "
                             "local files only")
        if node.get("relativeToVRT") == "1":
            source = str(path.parent / source)
        check_local(source, _depth=_depth + 1)


def _check_til(path: Path) -> None:
    """Refuse a Maxar ``.TIL`` whose tiles are remote or lie outside its folder."""
    text = read_metadata_text(path)
    folder = path.resolve().parent
    for name in re.findall(r'filename\s*=\s*"?([^";\n]*)', text):
        if _REMOTE.match(name.strip()) or Path(name.strip()).is_absolute():
            raise SceneError(f"{path}: names the tile {name.strip()[:200]!r}; a .TIL's tiles must be files beside it")
        tile = (folder / name.strip()).resolve()
        if tile.parent != folder:
            raise SceneError(f"{path}: names the tile {name.strip()[:200]!r}, outside its folder; a .TIL's tiles must "
                             "be files beside it")


def check_inside(path: Path, folder: Path) -> None:
    """Refuse a symbolic link that loops, or that leads out of ``folder`` or to ``folder`` itself.

    An image or a tile of an images folder is a file of that folder: a link named like a
    date that points elsewhere (``2016-01-01 -> .``, ``-> /data/other``) would make a
    phantom image, a date with no imagery of its own.

    Raises
    ------
    SceneError
        Naming the link and where it leads.
    """
    if not path.is_symlink():
        return
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # a loop, or a link to nothing
        raise SceneError(f"{path}: a symbolic link that loops or leads nowhere ({exc})") from None
    home = folder.resolve()
    if target == home or target in home.parents:
        raise SceneError(f"{path}: a symbolic link to its own folder (or one above it); an image must be a file "
                         "or a folder of tiles")
    if target.parent == home:
        raise SceneError(f"{path}: a symbolic link to {target.name}, another image of the folder: one image "
                         "would count under two dates")
    if home not in target.parents:
        raise SceneError(f"{path}: a symbolic link that leads out of {folder} (to {target}); put the image itself "
                         "in the folder")


def open_raster(path: Path) -> Any:
    """Open a local raster file for reading (:func:`check_local` first).

    Raises
    ------
    SceneError
        If it is remote, missing, a folder or not a raster GDAL reads.
    """
    check_local(path)
    if not path.exists():
        raise SceneError(f"{path}: file not found")
    if path.is_dir():
        raise SceneError(f"{path}: is a folder, expected a GeoTIFF file or a folder of tiles")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path, driver=READ_DRIVERS.get(path.suffix.lower(), "GTiff"))
    except RasterioIOError as exc:
        raise SceneError(f"{path}: not a readable raster ({exc}); expected a GeoTIFF") from exc


#: The most bands an image may have: campwatch compares colour and near-infrared bands.
MAX_BANDS = 64
#: The most pixels an image may have on a side (a header can claim anything).
MAX_SIDE_PX = 200_000


def check_size(path: Any, count: int, width: int, height: int) -> None:
    """Raise SceneError when an image's header claims more bands or pixels than campwatch takes."""
    if count > MAX_BANDS:
        raise SceneError(f"{path}: has {count} bands; campwatch takes at most {MAX_BANDS} (colour and near-infrared "
                         "bands): keep those, for example with gdal_translate -b 1 -b 2 -b 3")
    if max(width, height) > MAX_SIDE_PX:
        raise SceneError(f"{path}: claims {width} x {height} pixels; campwatch takes at most {MAX_SIDE_PX:,} on a "
                         "side: cut the AOI's window out of it first (gdal_translate -projwin)")

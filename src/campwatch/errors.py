"""Errors raised by campwatch: one root, subclasses that also inherit the built-in they resemble."""

from __future__ import annotations

__all__ = [
    "CampwatchError",
    "InputError",
    "SceneError",
    "AOIError",
    "GridMismatchError",
    "OutputError",
    "ConfigError",
]


class CampwatchError(Exception):
    """Root of every error campwatch raises on purpose."""


class InputError(CampwatchError, ValueError):
    """A user-supplied input (file, parameter) is unusable.

    The command line maps every ``InputError`` to exit code 2.
    """


class SceneError(InputError, OSError):
    """A scene (image) file is missing, unreadable, or not a georeferenced raster."""


class AOIError(InputError):
    """An AOI file is missing, not valid GeoJSON, or not a valid AOI."""


class GridMismatchError(InputError):
    """Two scenes do not share CRS, grid or bands."""


class ConfigError(InputError):
    """A configuration value or file is invalid."""


class OutputError(CampwatchError, OSError):
    """An output folder or file cannot be written."""

"""Longshore's Python client."""

from longshore._version import __version__

__all__ = ["__version__"]

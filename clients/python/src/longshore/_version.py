# The package's version is the Longshore API version it was built against (info.version of
# /openapi.json, the Cargo workspace version); tests/test_version.py checks they are equal.
__version__ = "0.1.0"

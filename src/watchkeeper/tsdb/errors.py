"""Errors of the embedded store: each names what was wrong and where."""

from __future__ import annotations


class TSDBError(Exception):
    """Base class of every error the store raises."""


class CorruptChunkError(TSDBError):
    """A stored chunk's bytes do not decode (bad checksum, truncated, foreign data)."""


class CorruptWALError(TSDBError):
    """A write-ahead log record is damaged somewhere other than a torn tail."""


class DataDirError(TSDBError):
    """The data directory holds files the store does not own, or is unusable."""


class StoreLockedError(TSDBError):
    """Another process holds the data directory."""


class StoreClosedError(TSDBError):
    """The store was used after close()."""


class BadMatcherError(TSDBError, ValueError):
    """A label matcher or series selector could not be parsed or compiled."""

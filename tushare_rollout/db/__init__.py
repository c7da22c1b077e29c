"""Persistence: SQLAlchemy models (the only place SQLAlchemy models live), bulk upsert, partitions."""

from . import control, extension, unified
from .base import NAMING_CONVENTION, AssetClass, Base, Batch, Exchange, ReadModule, metadata

__all__ = ["NAMING_CONVENTION", "AssetClass", "Base", "Batch", "Exchange", "ReadModule", "control", "extension",
           "metadata", "unified"]

"""The end-to-end fixtures live in bed.py (the tests import its helpers too)."""

from bed import bed, crd, stack, tushare

__all__ = ["bed", "crd", "stack", "tushare"]

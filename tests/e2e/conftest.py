"""The end-to-end fixtures live in bed.py (the tests import its helpers too)."""

from bed import bed, stack

__all__ = ["bed", "stack"]

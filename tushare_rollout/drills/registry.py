"""The registry of drills: name -> function(context, short) -> list[DrillResult].

Drills register themselves with :func:`drill` when their module is imported; :func:`load` imports the
module of every plane (``data``, ``control``) that exists, in that order, so the table lists data-plane
drills first and a new plane module is picked up without touching this file's callers.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from .context import DrillContext
from .model import DrillResult

DrillFunction = Callable[[DrillContext, bool], list[DrillResult]]
PLANES = ("data", "control")  # tushare_rollout/drills/<plane>.py


@dataclass(frozen=True)
class Drill:
    name: str
    plane: str
    summary: str  # the function's docstring, first line: what the drill does and expects
    run: DrillFunction


DRILLS: dict[str, Drill] = {}


class UnknownDrill(ValueError):
    pass


def drill(name: str, *, plane: str) -> Callable[[DrillFunction], DrillFunction]:
    """Register the decorated function as drill ``name``::

        @drill("ingest-sigkill", plane="data")
        def ingest_sigkill(ctx: DrillContext, short: bool) -> list[DrillResult]:
            \"\"\"`job ingest` killed with SIGKILL mid-run, then rerun: identical to an undisturbed load.\"\"\"
    """
    if plane not in PLANES:
        raise ValueError(f"plane is one of {', '.join(PLANES)}, got {plane!r}")

    def register(function: DrillFunction) -> DrillFunction:
        if name in DRILLS and DRILLS[name].run is not function:
            raise ValueError(f"two drills are named {name!r}")
        summary = (function.__doc__ or name).strip().splitlines()[0]
        DRILLS[name] = Drill(name, plane, summary, function)
        return function

    return register


def load() -> dict[str, Drill]:
    """Every registered drill, data plane first."""
    for plane in PLANES:
        module = f"{__package__}.{plane}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return dict(sorted(DRILLS.items(), key=lambda item: PLANES.index(item[1].plane)))


def select(names: list[str] | None = None) -> list[Drill]:
    """The drills named (all when ``names`` is empty), in registry order; unknown names raise
    :class:`UnknownDrill` listing the known ones."""
    known = load()
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise UnknownDrill(f"unknown drill(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [d for d in known.values() if not names or d.name in names]

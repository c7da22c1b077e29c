"""Fault drills: disturb a real Job (kill it, restart its database, fail its Tushare server, ...), let it
recover, and prove by table checksums against an undisturbed run that nothing was lost or duplicated.

``tushare-rollout drill --all`` runs the long version, ``--short`` the one ``make test`` runs
(``tests/drills``); ``docs/drills.md`` describes every drill and holds the last long run's table.

Rooms:

* :mod:`.model` — :class:`~.model.DrillResult` (one table row) and :class:`~.model.Observation`, the
  notebook a drill fills: ``saw(fact)`` for the observed column, ``expect(ok, problem)`` for what fails it;
* :mod:`.checksums` — per data table, row count + md5 over every non-lineage column in key order;
  duplicate keys; partitions whole or absent;
* :mod:`.context` — :class:`~.context.DrillContext`: a private PostgreSQL (restartable), the local
  Tushare server and servers with faults, throwaway databases from a migrated template, the
  undisturbed reference load per window, Jobs as real subprocesses followed line by line, and, on first
  use, the dev cluster's control plane (``context.cluster``);
* :mod:`.registry` — name -> function; :mod:`.runner` — runs them, renders the table (rich, Markdown,
  JSON), exit code 0 all passed / 2 some failed;
* :mod:`.data` — the data-plane drills; ``control.py`` — the control-plane drills (operator, apiserver).

Adding a drill: in the module of its plane (``data.py``, or ``control.py`` for the control plane —
:func:`~.registry.load` imports each plane's module that exists, data first), write::

    from .context import DrillContext, window
    from .model import DrillResult, Observation
    from .registry import drill

    @drill("operator-sigkill", plane="control")
    def operator_sigkill(ctx: DrillContext, short: bool) -> list[DrillResult]:
        \"\"\"The operator killed mid-reconcile: the rollout completes, no Job is launched twice.\"\"\"
        obs = Observation("operator-sigkill", expected="exactly one Job per kind; identical")
        cluster = ctx.cluster          # etcd + kube-apiserver + controller-manager, on ctx.postgres
        ref = ctx.reference(window(short))
        db = ctx.database("operator")  # a fresh database at head
        ...                            # disturb, wait on conditions (never sleep), recover
        obs.saw("what happened")       # facts for the observed column
        obs.expect(ok, "what went wrong")
        return [obs.result(identical(obs, db.engine, ref))]  # checksums.identical: notes what differs

The function gets the shared context and ``short`` (keep the short version well under a minute); it
returns one :class:`DrillResult` per case it ran. ``identical`` is computed, never assumed (``None`` only
when the drill compares no data). Components a drill starts through the context are stopped at the end
(``ctx.defer(...)`` for anything else). A drill that cannot run on a machine says why in its row and does
not pass. Add a short case to ``tests/drills/test_drills.py`` and a section to ``docs/drills.md``.
"""

"""Gates: declared checks (a metric, a WARN and a FAIL threshold) evaluated in SQL on the stored data.

One module per gate — :mod:`.stability`, :mod:`.reconciliation`, :mod:`.quality`,
:mod:`.scheduling` — plus :mod:`.baseline` (phase A); :mod:`.runner` picks a phase's checks, grades
and stores them; :mod:`.streak` is the pure trading-day arithmetic of the P2 entry rule.
"""

"""The run report (``tushare-rollout report``): one self-contained HTML page, and Markdown, of a rollout.

:mod:`.queries` reads the control tables into plain data (:mod:`.model`, which also holds the pure
arithmetic: phase states, usage per day, heat-map grids, gate series); :mod:`.charts` draws PNGs with
matplotlib's Agg canvas; :mod:`.document` composes the sections; :mod:`.render` writes HTML and Markdown;
:mod:`.build` is the edge (database, files, exit codes).
"""

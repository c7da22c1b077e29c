"""``kubectl rolloutbatch``: drive a RolloutBatch from the command line.

``patches`` turns the current object into the spec patch of each verb (pure), ``view`` and ``explain``
turn its status into tables and sentences (pure), ``kube`` is the API edge and ``cli`` the command.
Every changing verb is a JSON merge patch of ``spec``; nothing here writes ``status``.
"""

"""Scenarios that need Qt: cold start, the on-screen station, and the board's Qt worker.

The bench process itself never starts Qt: every module here that imports PySide6 runs in a
subprocess (``python -m bench.ui.station_screen``, ``python -m bench.ui.board_worker``), and
:mod:`bench.ui.coldstart` only starts processes. This package's ``__init__`` stays empty so
that importing :mod:`bench.ui.coldstart` loads no Qt.
"""

"""Scenarios over the Qt-free core: lookups, HL7 ingest, custody, station and board.

Nothing here imports Qt (an import-linter contract holds it); the board's Qt side is
measured by talking to :mod:`bench.ui.board_worker`, started as a subprocess.
"""

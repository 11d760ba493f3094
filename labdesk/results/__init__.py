"""Closing the loop: the clinician board, overdue tracking, acknowledgement and export.

Use cases run in a unit of work that is already open: the command bus's
(:mod:`labdesk.results.commands`) or a query's (``MessageBus.query``). Those that existed
before the bus come twice: ``name_in(uow, ...)`` works in the open unit of work, and
``name(uow, ...)`` is handed an unopened one and enters it itself (benchmarks and tests).
"""

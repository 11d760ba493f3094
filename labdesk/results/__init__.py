"""Closing the loop: the clinician board, overdue tracking, acknowledgement and export.

One function per use case, ``name(uow, ...)``, taking a unit of work that is already open,
as in every feature package. What changes state or writes a file (acknowledging,
escalating, naming a covering clinician, rebuilding the board, exporting) is sent as a
command (:mod:`labdesk.results.commands`), in the bus's transaction with its idempotency
key. Reads are queries (``MessageBus.query``, rolled back at the end): loading the board
and counting overdue tests commit their own refresh of the board table first, and the
board load, a result's drill-down and the signing preview commit their own view audit
entry. Tests and benchmarks open the unit of work themselves:
``with uows() as uow: fn(uow, ...)``.
"""

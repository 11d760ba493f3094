"""Downtime-proof stations (issue 12): accession blocks, the local outbox and its replay.

The design is in ``docs/downtime.md``. This package is Qt-free and storage-free: it works
over the ports in :mod:`labdesk.downtime.ports`, implemented by ``labdesk.adapters.downtime``.
"""

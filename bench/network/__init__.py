"""Clinic-network load: 25 stations as processes, the HL7 listener, the board, at once.

Start at :mod:`bench.network.run` (:func:`run_network_load`, what ``labdesk bench --only
network-load`` calls); the pieces, in the order a run uses them: :mod:`~bench.network.world`
(the network's rows), :mod:`~bench.network.sinks` (printer sink, cutting proxy),
:mod:`~bench.network.stations`, :mod:`~bench.network.hl7load`, :mod:`~bench.network.live`
and :mod:`~bench.network.correctness`.
"""

from __future__ import annotations

from bench.network.run import run_network_load

__all__ = ["run_network_load"]

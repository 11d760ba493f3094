"""Deterministic synthetic people for benchmark databases (kept for the scenarios' imports).

What a synthetic patient looks like is defined once, in :mod:`labdesk.seed.names`: the
long-tailed pool of made-up syllable names the bulk rows draw from, MRNs and wristbands.
"""

from __future__ import annotations

from labdesk.seed.names import NamePool, SyntheticPerson, mrn_for, wristband_for

__all__ = ["NamePool", "SyntheticPerson", "mrn_for", "wristband_for"]

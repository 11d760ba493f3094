"""Synthetic data (never real patients): one builder for the demo, benchmarks and tests.

``builder`` (:class:`~labdesk.seed.builder.ClinicBuilder`: reference data, users, patients,
orders, drawn or placed specimens), ``names`` (what a synthetic patient looks like),
``reference`` (the synthetic clinics and their order vocabulary), ``demo`` and ``custody``
(the demo clinic in every state), ``commands`` (the seeding command).
"""

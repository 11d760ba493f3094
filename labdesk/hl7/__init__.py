"""HL7 v2 interface (inbound MLLP, outbound queue) and FHIR R4 export.

Modules: ``parse`` (python-hl7 made total), ``semantics``/``order_semantics`` (what a
message says, pure), ``apply_results``/``apply_orders`` (changes through a unit of work),
``ingest`` (store then acknowledge), ``mllp_server`` (the listener), ``outbound_build``/
``outbound``/``mllp_client`` (collection messages to the lab), ``worklist`` (dead letters and
unmatched results), ``fhir_export``.
"""

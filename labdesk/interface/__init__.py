"""The lab interface use cases: HL7 v2 ingest, matching, outbound queue, FHIR export."""

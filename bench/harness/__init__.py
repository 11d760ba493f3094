"""The measuring machinery: scenario model, timing, the run plan and the report."""

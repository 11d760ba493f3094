"""LabDesk core: domain, services and storage adapters (never imports Qt)."""

__version__ = "0.1.0"

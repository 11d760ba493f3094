"""Qt user interface (PySide6): thin views over labdesk services."""

"""Lab receiving page: accepting or rejecting arriving specimens (placeholder)."""

from __future__ import annotations

from ui.pages.page_header import PlaceholderPage


class LabReceivingPage(PlaceholderPage):
    """What a lab receiver sees after signing in."""

    def header_texts(self) -> tuple[str, str]:
        """Title and what this page will do."""
        return (
            self.tr("Lab receiving"),
            self.tr(
                "Scanning in and accepting or rejecting specimens arrives with the "
                "chain-of-custody work."
            ),
        )

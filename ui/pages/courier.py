"""Courier page: specimen pickup and hand-over (placeholder until chain of custody lands)."""

from __future__ import annotations

from ui.pages.page_header import PlaceholderPage


class CourierPage(PlaceholderPage):
    """What a courier sees after signing in."""

    def header_texts(self) -> tuple[str, str]:
        """Title and what this page will do."""
        return (
            self.tr("Courier"),
            self.tr("Courier pickup arrives with the chain-of-custody work."),
        )

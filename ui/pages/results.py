"""Results page: follow-up of returned and overdue results (placeholder)."""

from __future__ import annotations

from ui.pages.page_header import PlaceholderPage


class ResultsPage(PlaceholderPage):
    """What a clinician sees after signing in."""

    def header_texts(self) -> tuple[str, str]:
        """Title and what this page will do."""
        return (
            self.tr("Results"),
            self.tr("The results inbox and overdue follow-up arrive with the result import work."),
        )

"""Turnaround per test, collection to final result: median and 90th percentile (QtCharts)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from labdesk.results.board_dto import TurnaroundStat

MEDIAN_COLOUR = QColor("#3b6fb6")
P90_COLOUR = QColor("#b26a00")


class TurnaroundChartView(QChartView):
    """Grouped bars in hours: median and P90 per test, with the promised turnaround."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.stats: list[TurnaroundStat] = []
        self.set_stats([])

    def set_stats(self, stats: Sequence[TurnaroundStat]) -> None:
        """Redraw for ``stats`` (one group of bars per test)."""
        self.stats = list(stats)
        chart = QChart()
        chart.setTitle(self.tr("Turnaround, collection to final result (hours)"))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        median = QBarSet(self.tr("Median"))
        median.setColor(MEDIAN_COLOUR)
        p90 = QBarSet(self.tr("90th percentile"))
        p90.setColor(P90_COLOUR)
        for stat in self.stats:
            median.append(stat.median_min / 60)
            p90.append(stat.p90_min / 60)
        series = QBarSeries()
        series.append(median)
        series.append(p90)
        chart.addSeries(series)
        categories = QBarCategoryAxis()
        categories.append([s.test_code for s in self.stats] or [self.tr("no data")])
        chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(categories)
        hours = QValueAxis()
        top = max((s.p90_min / 60 for s in self.stats), default=1.0)
        hours.setRange(0, max(1.0, top * 1.15))
        hours.applyNiceNumbers()  # ticks on round hours, not fractions of the range
        hours.setLabelFormat("%.0f" if hours.max() >= 10 else "%.1f")
        hours.setTitleText(self.tr("hours"))
        chart.addAxis(hours, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(hours)
        old = self.chart()
        self.setChart(chart)
        if old is not None:
            old.deleteLater()
        self.setToolTip(
            "\n".join(
                self.tr("{code}: median {m:.1f} h, P90 {p:.1f} h, n={n}, target {t:.0f} h").format(
                    code=s.test_code,
                    m=s.median_min / 60,
                    p=s.p90_min / 60,
                    n=s.samples,
                    t=s.target_min / 60,
                )
                for s in self.stats
            )
        )

    def bar_values(self) -> list[tuple[str, float, float]]:
        """``(test, median h, p90 h)`` as drawn (for tests and screen readers)."""
        return [(s.test_code, s.median_min / 60, s.p90_min / 60) for s in self.stats]

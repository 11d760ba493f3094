"""The frozen record of what a print job printed, stored as JSON in ``content_json``.

A reprint is rendered from this snapshot, never from the live patient record: if the
patient's name was corrected or the label template changed since, the reprinted label
still says what the original said (plus its REPRINT mark). The format is versioned so a
future LabDesk can still read today's jobs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from labdesk.domain.errors import ValidationError
from labdesk.domain.printing import LabelContent

SNAPSHOT_VERSION = 1
_FIELDS = {f.name for f in dataclasses.fields(LabelContent)}


@dataclass(frozen=True)
class LabelSnapshot:
    """The labels of one job, the preset they were laid out on, and copies of each."""

    labels: tuple[LabelContent, ...]
    preset: str
    copies: int = 1

    def to_json(self) -> str:
        """Serialise (stable key order, UTF-8 kept readable)."""
        return json.dumps(
            {
                "version": SNAPSHOT_VERSION,
                "preset": self.preset,
                "copies": self.copies,
                "labels": [_label_dict(label) for label in self.labels],
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> LabelSnapshot:
        """Read a stored snapshot.

        Raises:
            ValidationError: if ``text`` is not a snapshot this program can read.
        """
        try:
            raw = json.loads(text)
            if raw["version"] != SNAPSHOT_VERSION:
                raise ValueError(f"version {raw['version']}")
            labels = tuple(_label_of(item) for item in raw["labels"])
            return cls(labels=labels, preset=str(raw["preset"]), copies=int(raw["copies"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(
                f"The stored label content of this job cannot be read ({exc}).",
                hint="Print a new label from the specimen instead of reprinting this job.",
            ) from exc

    def as_reprint(self, count: int) -> LabelSnapshot:
        """The same labels marked ``REPRINT count``."""
        labels = tuple(dataclasses.replace(label, reprint_count=count) for label in self.labels)
        return dataclasses.replace(self, labels=labels)


def _label_dict(label: LabelContent) -> dict[str, Any]:
    data = dataclasses.asdict(label)
    data["tests"] = list(label.tests)
    return data


def _label_of(item: Any) -> LabelContent:
    if not isinstance(item, dict) or not {"accession", "family_name"} <= item.keys():
        raise ValueError("a label entry is not an object with an accession")
    # Unknown keys (from a newer LabDesk) are ignored; missing optional ones keep defaults.
    fields = {key: value for key, value in item.items() if key in _FIELDS}
    fields["tests"] = tuple(str(test) for test in fields.get("tests", ()))
    return LabelContent(**fields)

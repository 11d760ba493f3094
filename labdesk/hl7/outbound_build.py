"""Collection details for the lab as HL7 text: OML^O21 with SPM, or ORM^O01 (pure).

One ORC/OBR per ordered test, each followed (OML) by the SPM of the specimen that carries
it: SPM-2 accession, SPM-4 specimen type (HL7 table 0487), SPM-12 volume, SPM-17 collection
time, SPM-27 container type. ORM^O01 has no SPM segment, so the same facts travel in OBR-7
(collection time), OBR-10 (collector) and OBR-15 (specimen source).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from labdesk.domain.order import Priority
from labdesk.hl7.ack import APPLICATION, escape, hl7_timestamp

OML_O21 = "OML^O21"
ORM_O01 = "ORM^O01"
MESSAGE_TYPES = (OML_O21, ORM_O01)
LAB_APPLICATION = "LAB"

# Catalog specimen types -> HL7 table 0487 (FHIR v2-0487) codes.
SPECIMEN_TYPES = {
    "whole blood": ("BLD", "Whole blood"),
    "blood": ("BLD", "Whole blood"),
    "serum": ("SER", "Serum"),
    "plasma": ("PLAS", "Plasma"),
    "urine": ("UR", "Urine"),
    "stool": ("STL", "Stool"),
}


def specimen_type_code(specimen_type: str) -> tuple[str, str]:
    """(table 0487 code, text) for a catalog specimen type; code ``""`` when unknown."""
    return SPECIMEN_TYPES.get(specimen_type.strip().lower(), ("", specimen_type))


@dataclass(frozen=True)
class PatientInfo:
    """Identity sent in PID."""

    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str


@dataclass(frozen=True)
class SpecimenInfo:
    """One collected container."""

    accession: str
    specimen_type: str
    container_code: str
    container_name: str
    collected_at: datetime
    collector_id: int
    collector_name: str
    volume_ml: float | None


@dataclass(frozen=True)
class OrderedTestInfo:
    """One ordered test and the specimen it is drawn in."""

    placer_order_number: str
    requisition: str
    priority: Priority
    ordering_provider: str
    ordered_at: datetime
    code: str
    loinc: str
    name: str
    specimen: SpecimenInfo


@dataclass(frozen=True)
class CollectionSnapshot:
    """Everything one outbound collection message says."""

    control_id: str
    created_at: datetime
    sending_facility: str
    patient: PatientInfo
    tests: tuple[OrderedTestInfo, ...]


def build_collection_message(snap: CollectionSnapshot, message_type: str = OML_O21) -> str:
    """The HL7 text (segments end with CR).

    Raises:
        ValueError: for a message type other than OML^O21 or ORM^O01.
    """
    if message_type not in MESSAGE_TYPES:
        raise ValueError(f"unsupported outbound message type {message_type!r}")
    oml = message_type == OML_O21
    structure = "OML_O21" if oml else "ORM_O01"
    p = snap.patient
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                APPLICATION,
                escape(snap.sending_facility),
                LAB_APPLICATION,
                LAB_APPLICATION,
                hl7_timestamp(snap.created_at),
                "",
                f"{message_type}^{structure}",
                escape(snap.control_id),
                "P",
                "2.5.1",
                "",
                "",
                "AL",
                "NE",
            ]
        ),
        f"PID|1||{escape(p.mrn)}^^^{APPLICATION}^MR||{escape(p.family_name)}^"
        f"{escape(p.given_name)}||{p.birth_date:%Y%m%d}|{escape(p.sex)}",
        "PV1|1|O",
    ]
    for n, test in enumerate(snap.tests, start=1):
        segments += _order_group(n, test, oml)
    return "\r".join(segments) + "\r"


def _order_group(n: int, t: OrderedTestInfo, oml: bool) -> list[str]:
    s = t.specimen
    placer = f"{escape(t.placer_order_number)}^{APPLICATION}"
    priority = "S" if t.priority is Priority.STAT else "R"
    type_code, type_text = specimen_type_code(s.specimen_type)
    collected = hl7_timestamp(s.collected_at)
    collector = f"{s.collector_id}^{escape(s.collector_name)}"
    service = f"{escape(t.loinc)}^{escape(t.name)}^LN^{escape(t.code)}^{escape(t.name)}^L"
    orc = [
        "ORC",
        "NW",
        placer,
        "",
        escape(t.requisition),
        "IP",
        "",
        "" if oml else f"^^^^^{priority}",
        "",
        hl7_timestamp(t.ordered_at),
        "",
        "",
        f"^{escape(t.ordering_provider)}",
    ]
    obr = [""] * 28
    obr[:5] = ["OBR", str(n), placer, "", service]
    obr[7] = collected
    obr[10] = collector
    obr[15] = "" if oml else f"{type_code}&{escape(type_text)}&HL70487"
    obr[16] = f"^{escape(t.ordering_provider)}"
    obr[27] = "" if oml else f"^^^^^{priority}"
    group = ["|".join(orc)]
    if oml:
        group.append(f"TQ1|1||||||||{priority}^{'Stat' if priority == 'S' else 'Routine'}^HL70485")
    group.append("|".join(obr).rstrip("|"))
    if oml:
        spm = [""] * 28
        spm[0:5] = [
            "SPM",
            str(n),
            f"{escape(s.accession)}&{APPLICATION}",
            "",
            f"{type_code}^{escape(type_text)}^HL70487",
        ]
        spm[11] = "P^Patient^HL70369"
        spm[12] = f"{s.volume_ml:g}^mL&milliliter&UCUM" if s.volume_ml else ""
        spm[17] = collected
        spm[27] = f"{escape(s.container_code)}^{escape(s.container_name)}^L"
        group.append("|".join(spm))
    return group

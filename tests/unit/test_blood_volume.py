"""Blood-volume limits at the boundaries for each age band, 24 h and 30-day windows, weights."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from labdesk.config import BLOOD_VOLUME_POLICY, ConfigError, load_config
from labdesk.domain import catalog
from labdesk.domain.blood_volume import (
    WINDOW_24H,
    WINDOW_30D,
    AgeBand,
    PediatricTube,
    age_band,
    assess,
    check_weight,
    drawn_in,
    policy_from,
)
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import ValidationError

CLOCK = FixedClock(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
NOW = CLOCK.now()

# weight, band, mL/kg: TBV, 5 % and 10 %
BANDS = [
    (3.0, AgeBand.NEONATE, 85),  # 255 mL: 12.75 / 25.5
    (8.0, AgeBand.INFANT, 80),  # 640 mL: 32 / 64
    (20.0, AgeBand.CHILD, 75),  # 1500 mL: 75 / 150
    (50.0, AgeBand.ADULT, 70),  # 3500 mL: 175 / 350
]


@pytest.mark.parametrize(("weight", "band", "per_kg"), BANDS)
def test_the_24h_limit_is_reached_exactly_and_one_drop_more_is_over(
    weight: float, band: AgeBand, per_kg: float
) -> None:
    limit = weight * per_kg * 0.05
    at_limit = assess(BLOOD_VOLUME_POLICY, weight, band, limit, 0, 0)
    assert at_limit.total_blood_volume_ml == weight * per_kg
    assert at_limit.limit_24h_ml == pytest.approx(limit)
    assert not at_limit.over
    assert at_limit.excess_ml == 0
    over = assess(BLOOD_VOLUME_POLICY, weight, band, limit + 0.1, 0, 0)
    assert over.over
    assert over.excess_24h_ml == pytest.approx(0.1)
    assert over.excess_30d_ml == 0
    assert "0.1 mL over the 24 h limit" in over.summary()


@pytest.mark.parametrize(("weight", "band", "per_kg"), BANDS)
def test_the_30_day_limit_counts_earlier_draws(weight: float, band: AgeBand, per_kg: float) -> None:
    tbv = weight * per_kg
    earlier = tbv * 0.08  # drawn over the month, none today
    allowed = tbv * 0.10 - earlier
    ok = assess(BLOOD_VOLUME_POLICY, weight, band, allowed, 0, earlier)
    assert not ok.over
    assert ok.allowed_now_ml == pytest.approx(allowed, abs=0.01)
    over = assess(BLOOD_VOLUME_POLICY, weight, band, allowed + 0.5, 0, earlier)
    assert over.excess_30d_ml == pytest.approx(0.5)
    assert over.excess_24h_ml == 0
    assert "over the 30-day limit" in over.summary()


def test_todays_earlier_draws_count_against_the_24h_limit() -> None:
    # a 10 kg child: 750 mL TBV, 37.5 mL a day; 30 mL drawn this morning leaves 7.5 mL
    child = assess(BLOOD_VOLUME_POLICY, 10, AgeBand.CHILD, 7.5, 30, 30)
    assert not child.over
    assert child.allowed_now_ml == 7.5
    more = assess(BLOOD_VOLUME_POLICY, 10, AgeBand.CHILD, 12, 30, 30)
    assert more.excess_24h_ml == 4.5
    assert more.excess_ml == 4.5


def test_draw_windows_are_open_at_the_start_and_closed_at_now() -> None:
    draws = [
        (NOW - WINDOW_24H, 5.0),  # exactly 24 h ago: outside the 24 h window
        (NOW - WINDOW_24H + timedelta(seconds=1), 4.0),
        (NOW, 3.0),
        (NOW - WINDOW_30D, 20.0),  # exactly 30 days ago: outside
        (NOW - WINDOW_30D + timedelta(minutes=1), 10.0),
        (NOW + timedelta(minutes=1), 99.0),  # later than now: not drawn yet
    ]
    assert drawn_in(draws, NOW, WINDOW_24H) == 7.0
    assert drawn_in(draws, NOW, WINDOW_30D) == 22.0


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (date(2026, 3, 1), AgeBand.NEONATE),
        (date(2026, 2, 10), AgeBand.NEONATE),  # 27 days old
        (date(2026, 2, 9), AgeBand.INFANT),  # 28 days old
        (date(2025, 3, 10), AgeBand.INFANT),  # one day short of a year
        (date(2025, 3, 9), AgeBand.CHILD),
        (date(2008, 3, 10), AgeBand.CHILD),
        (date(2008, 3, 9), AgeBand.ADULT),
    ],
)
def test_age_bands_at_their_edges(born: date, band: AgeBand) -> None:
    assert age_band(born, NOW.date()) is band


@pytest.mark.parametrize("weight", [0, -1, 0.29, 350.1, 500])
def test_impossible_weights_are_refused_with_what_to_do(weight: float) -> None:
    with pytest.raises(ValidationError) as info:
        check_weight(weight)
    assert "not possible" in info.value.message
    assert "enter the weight in kg" in info.value.hint
    with pytest.raises(ValidationError):
        assess(BLOOD_VOLUME_POLICY, weight, AgeBand.CHILD, 1, 0, 0)


@pytest.mark.parametrize("weight", [0.3, 3.2, 350])
def test_possible_weights_are_taken(weight: float) -> None:
    assert check_weight(weight) == weight


def test_the_policy_is_validated() -> None:
    with pytest.raises(ValidationError, match="Unknown age band"):
        policy_from({"toddler": 75}, 5, 10)
    with pytest.raises(ValidationError, match="use 40 to 120"):
        policy_from({"neonate": 850, "infant": 80, "child": 75, "adult": 70}, 5, 10)
    with pytest.raises(ValidationError, match="more than limit_30d_percent"):
        policy_from({"neonate": 85, "infant": 80, "child": 75, "adult": 70}, 12, 10)
    with pytest.raises(ValidationError, match="no mL/kg for the adult band"):
        policy_from({"neonate": 85, "infant": 80, "child": 75}, 5, 10)


def test_the_config_file_sets_the_policy_and_refuses_bad_values(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text("[blood_volume]\nlimit_24h_percent = 3\nml_per_kg = { child = 72 }\n")
    policy = load_config(file).blood_volume
    assert policy.limit_24h_percent == 3
    assert policy.limit_30d_percent == 10
    assert policy.tbv_ml_per_kg(AgeBand.CHILD) == 72
    assert policy.tbv_ml_per_kg(AgeBand.ADULT) == 70
    file.write_text("[blood_volume]\nlimit_24h_percent = 50\n")
    with pytest.raises(ConfigError, match="limit_24h_percent"):
        load_config(file)
    file.write_text('[blood_volume]\nlimit_24h_percent = "five"\n')
    with pytest.raises(ConfigError, match="must hold numbers"):
        load_config(file)


@pytest.mark.parametrize(("weight", "band", "per_kg"), BANDS)
def test_one_hundredth_of_a_ml_over_the_30_day_limit_is_over(
    weight: float, band: AgeBand, per_kg: float
) -> None:
    month = weight * per_kg * 0.10
    at_limit = assess(BLOOD_VOLUME_POLICY, weight, band, 1.0, 0, month - 1.0)
    assert not at_limit.over
    over = assess(BLOOD_VOLUME_POLICY, weight, band, 1.01, 0, month - 1.0)
    assert over.over
    assert over.excess_30d_ml == pytest.approx(0.01)
    assert over.allowed_now_ml == pytest.approx(1.0, abs=0.01)
    assert "0.01 mL over the 30-day limit" in over.summary()


def test_a_pediatric_tube_carries_the_test_at_its_own_volume() -> None:
    cmp = catalog.TestDefinition(  # by module: pytest would collect a Test* name
        code="CMP", loinc="24323-8", name="Comprehensive metabolic panel",
        specimen_type="serum", container_code="SST", preferred_volume_ml=1,
        minimum_volume_ml=0.5, stability_ambient_h=2, stability_refrigerated_h=72,
        stability_frozen_h=720, transport_temperature=catalog.TemperatureClass.REFRIGERATED,
        routine_tat_min=1440, stat_tat_min=60,
    )  # fmt: skip
    small = PediatricTube("CMP", "SSTM", 0.3).applied_to(cmp)
    assert (small.container_code, small.preferred_volume_ml, small.minimum_volume_ml) == (
        "SSTM",
        0.3,
        0.3,
    )
    assert (small.code, small.specimen_type, small.stability_refrigerated_h) == ("CMP", "serum", 72)

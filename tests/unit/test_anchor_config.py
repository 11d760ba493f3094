"""Config of the chain anchors and the PostgreSQL application role (issue 15 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdesk.config import Config, ConfigError, anchor_path, load_config


def _load(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.delenv("LABDESK_CHAIN_ANCHOR_FILE", raising=False)
    monkeypatch.setenv("LABDESK_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "config.toml"
    path.write_text(f"[labdesk]\n{body}\n", encoding="utf-8")
    return load_config(path)


def test_anchors_go_to_the_data_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _load(tmp_path, "", monkeypatch)
    assert anchor_path(config) == tmp_path / "data" / "chain-anchors.jsonl"
    assert config.app_role == "labdesk_app"
    assert config.chain_anchor_every == 1


def test_the_config_names_the_anchor_file_and_the_env_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _load(tmp_path, 'chain_anchor_file = "/mnt/share/a.jsonl"', monkeypatch)
    assert anchor_path(config) == Path("/mnt/share/a.jsonl")
    monkeypatch.setenv("LABDESK_CHAIN_ANCHOR_FILE", "/srv/b.jsonl")
    path = tmp_path / "config.toml"
    assert anchor_path(load_config(path)) == Path("/srv/b.jsonl")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("chain_anchor_every = 0", "chain_anchor_every"),
        ('app_role = "app; DROP TABLE users"', "app_role"),
        ('app_role = "Labdesk"', "app_role"),
    ],
)
def test_bad_values_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        _load(tmp_path, body, monkeypatch)
    assert info.value.hint

"""The app's statement limit: 8 s by default, configurable, 0 for none, nonsense refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdesk.config import Config, ConfigError, load_config


def _load(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("LABDESK_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "config.toml"
    path.write_text(f"[labdesk]\n{body}\n", encoding="utf-8")
    return load_config(path)


def test_default_and_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(tmp_path, "", monkeypatch).interactive_timeout_ms == 8000
    assert _load(tmp_path, "interactive_timeout_ms = 0", monkeypatch).interactive_timeout_ms == 0


@pytest.mark.parametrize("value", ["-1", "true", '"8s"'])
def test_a_bad_limit_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"interactive_timeout_ms = {value}", monkeypatch)
    assert "interactive_timeout_ms" in caught.value.message

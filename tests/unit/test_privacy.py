"""Pseudonymisation: HMAC-SHA-256 with a key from the environment or a key file outside any repository."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from oca_experiments.errors import DataError, SpecError
from oca_experiments.privacy import KEY_ENV, load_key, pseudonym, pseudonymize_frame

KEY = b"a test key, 32 bytes long......."


def test_pseudonyms_are_keyed_hmac_sha256_never_a_plain_hash():
    assert pseudonym("R00001", KEY) == hmac.new(KEY, b"R00001", hashlib.sha256).hexdigest()
    assert pseudonym(" R00001 ", KEY) == pseudonym("R00001", KEY)
    assert pseudonym("R00001", KEY) != hashlib.sha256(b"R00001").hexdigest()
    assert pseudonym("R00001", KEY) != pseudonym("R00001", KEY[::-1])


def test_frames_keep_panel_links_and_drop_direct_identifiers():
    frame = pd.DataFrame({"respondent_id": ["R00001", "R00002", "R00001", None], "phone": ["+996 1"] * 4,
                          "wave": ["baseline", "baseline", "endline", "endline"]})
    result, summary = pseudonymize_frame(frame, ["respondent_id"], KEY, drop=["phone"])
    assert list(result.columns) == ["respondent_id", "wave"]
    ids = result["respondent_id"]
    assert ids[0] == ids[2] != ids[1] and pd.isna(ids[3])
    assert "R0000" not in "".join(ids.dropna())
    assert summary.distinct_ids == {"respondent_id": 2} and summary.dropped == ("phone",)
    assert frame["respondent_id"][0] == "R00001", "the input is not changed"
    with pytest.raises(DataError, match="column not found") as info:
        pseudonymize_frame(frame, ["respondent"], KEY, file="survey.csv")
    assert info.value.column == "respondent" and "R00001" not in str(info.value)


def test_no_key_stops_with_one_line():
    with pytest.raises(SpecError, match=f"{KEY_ENV} is not set") as info:
        load_key(environ={})
    assert "never falls back to an unkeyed hash" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(SpecError, match="at least 16"):
        load_key(environ={KEY_ENV: "short"})
    assert load_key(environ={KEY_ENV: " " + KEY.decode() + "\n"}) == KEY


def test_key_files_must_live_outside_any_repository(tmp_path):
    outside = tmp_path / "keys" / "oca.key"
    outside.parent.mkdir()
    outside.write_bytes(KEY + b"\n")
    assert load_key(outside, environ={}) == KEY
    repository = tmp_path / "project"
    (repository / ".git").mkdir(parents=True)
    inside = repository / "secrets" / "oca.key"
    inside.parent.mkdir()
    inside.write_bytes(KEY)
    with pytest.raises(SpecError, match="inside the repository"):
        load_key(inside, environ={KEY_ENV: KEY.decode()})
    with pytest.raises(SpecError, match="does not exist"):
        load_key(tmp_path / "missing.key", environ={})


def test_the_command_escapes_formulas_and_never_prints_values(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from oca_experiments.cli import app
    from oca_experiments.io import read_table

    files = Path(__file__).resolve().parents[1] / "bad_inputs" / "files"
    out = tmp_path / "survey.xlsx"
    result = CliRunner().invoke(app, ["data", "pseudonymize", str(files / "survey_formula_site.csv"), "--out",
                                      str(out), "--id-column", "respondent_id", "--drop", "phone"],
                                env={KEY_ENV: KEY.decode(), "OCA_DEBUG": None})
    assert result.exit_code == 0, result.stderr
    assert "R0" not in result.stdout and "cmd" not in result.stdout
    sites = read_table(out, as_text=True)["site"]
    assert "'=cmd|' /C calc'!A0" in set(sites) and not any(s.startswith("=") for s in sites)
    assert not any(v.startswith("R0") for v in read_table(out, as_text=True)["respondent_id"])


def test_a_missing_id_column_says_did_you_mean_and_lists_every_column():
    """Issue 19: the closest column is named, and the list is not cut after 40 (nor sorted) so that the column
    that was meant cannot hide behind the cut."""
    frame = pd.DataFrame({**{f"q{i:02d}": [1] for i in range(60)}, "respondent_id": ["R00001"]})
    with pytest.raises(DataError) as info:
        pseudonymize_frame(frame, ["respondant_id"], KEY, file="survey.csv")
    text = str(info.value)
    assert "did you mean 'respondent_id'?" in text and "q59, respondent_id" in text
    assert info.value.column == "respondant_id" and "--id-column" in text and "R00001" not in text
    with pytest.raises(DataError, match="--drop names it") as dropped:
        pseudonymize_frame(frame, ["respondent_id"], KEY, drop=["phon"], file="survey.csv")
    assert dropped.value.column == "phon"

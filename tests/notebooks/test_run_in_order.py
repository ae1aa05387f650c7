"""The book's notebooks run in order on a fresh local store, and each runs again without error."""

from __future__ import annotations

from helpers import ORDER, outputs_of, run, text_of

from tools.notebooks import notebooks_in_order


def test_toc_lists_the_notebooks_in_order():
    assert [p.stem for p in notebooks_in_order()] == ORDER


def test_notebooks_run_in_order_then_again(fresh_store, tmp_path):
    first = {name: run(name, tmp_path / "first") for name in ORDER}
    assert "backend:        local" in text_of(first["00_start_here"])
    assert "prod: mlw-taxi-prod in rg-taxi-prod, westeurope" in text_of(first["05_create_workspaces"])
    assert "All 18 checks passed in 3 workspaces." in text_of(first["06_connect_and_validate"])
    landing = text_of(first["07_land_and_version_data"])
    assert "2026-01: landed 20,000 trips -> taxi-trips:1" in landing
    assert "2026-02: landed 20,000 trips -> taxi-trips:2" in landing

    # Run twice in a row: nothing fails, nothing is registered twice, and every output is the
    # same (what nbval and `make book` rely on).
    again = {name: run(name, tmp_path / "second") for name in ORDER}
    for name in ORDER:
        assert outputs_of(again[name]) == outputs_of(first[name]), name
    assert "All 18 checks passed in 3 workspaces." in text_of(again["06_connect_and_validate"])
    assert "2026-02: landed 20,000 trips -> taxi-trips:2" in text_of(again["07_land_and_version_data"])
    versions = sorted(
        p.stem for p in (fresh_store / "workspaces/rg-taxi-dev/mlw-taxi-dev/data/taxi-trips").glob("*.yaml")
    )
    assert versions == ["1", "2"]

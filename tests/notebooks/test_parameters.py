"""The notebooks take other parameters: a two-environment topology, other seeds and sizes."""

from __future__ import annotations

from helpers import run, text_of


def test_two_environments_other_region_seed_and_size(fresh_store, tmp_path):
    topology = {"environments": ["dev", "prod"], "project": "fares"}
    created = run("05_create_workspaces", tmp_path, location="northeurope", **topology)
    assert "prod: mlw-fares-prod in rg-fares-prod, northeurope" in text_of(created)
    assert not (fresh_store / "workspaces" / "rg-fares-test" / "mlw-fares-test").exists()

    validated = run("06_connect_and_validate", tmp_path, compute_name="train-cluster", **topology)
    assert "All 12 checks passed in 2 workspaces." in text_of(validated)

    landed = run(
        "07_land_and_version_data",
        tmp_path,
        project="fares",
        seed=7,
        rows_per_month=3_000,
        months=["2026-03", "2026-04", "2026-05"],
    )
    text = text_of(landed)
    assert "2026-05: landed 3,000 trips -> taxi-trips:3" in text

    # Another seed on the same store: new content, so new versions, and no error.
    relanded = run("07_land_and_version_data", tmp_path, project="fares", seed=8, rows_per_month=2_000)
    assert "2026-02: landed 2,000 trips -> taxi-trips:5" in text_of(relanded)

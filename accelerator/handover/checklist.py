"""The Migrate checklist: the accelerator's "the first model runs on Azure ML across the environments
following the best practices", item by item, each linked to the chapter that does it and ticked
only when the evidence (``accelerator.handover.evidence``) shows it."""

from __future__ import annotations

from dataclasses import dataclass

from accelerator.handover.evidence import Finding
from accelerator.handover.runbook import RunbookEntry


@dataclass(frozen=True)
class ChecklistItem:
    item: str
    chapter: str  # the book's page that does it, relative to notebooks/
    done: bool
    evidence: str


# (item, chapter, the practices whose evidence shows it)
ITEMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Training data lands in dev as a versioned data asset",
        "07_land_and_version_data.ipynb",
        ("automated_data_pipeline",),
    ),
    (
        "Experiments are tracked on managed compute",
        "08_track_and_train.ipynb",
        ("managed_compute", "tracked_experiments"),
    ),
    (
        "The model trains in dev by a pipeline with a gate, every version traced to its run",
        "09_training_pipeline.ipynb",
        ("pipeline_training", "versioned_code_and_models"),
    ),
    (
        "The scoring script is versioned and tested, the deployment rolls out blue/green",
        "10_deploy_online.ipynb",
        ("versioned_scoring", "safe_rollout"),
    ),
    (
        "Test and prod serve the registry's copy, after the acceptance tests and an approval",
        "11_promote_to_test_and_prod.ipynb",
        ("low_friction_release", "deployment_traceability", "release_tests_without_ds"),
    ),
    ("Releases run through CI/CD, environment by environment", "../book/cicd.md", ("cicd_release",)),
    (
        "Prod is monitored and its alerts reach the team",
        "12_monitor_and_retrain.ipynb",
        ("production_monitoring", "one_team_in_production"),
    ),
    (
        "Retraining is scheduled and starts on a breach",
        "12_monitor_and_retrain.ipynb",
        ("automatic_retraining",),
    ),
)


def migrate_checklist(findings: list[Finding], runbook: list[RunbookEntry]) -> list[ChecklistItem]:
    """The Migrate checklist from the findings, and the runbook's handover as its last item."""
    by_id = {f.practice_id: f for f in findings}
    items = []
    for item, chapter, practices in ITEMS:
        missing = [p for p in practices if p not in by_id]
        if missing:
            raise LookupError(f"no finding for {', '.join(missing)}: gather the evidence of every practice")
        done = all(by_id[p].in_place for p in practices)
        items.append(ChecklistItem(item, chapter, done, "; ".join(by_id[p].evidence for p in practices)))
    gaps = [e.name for e in runbook if not e.has_procedure]
    owned = [e for e in runbook if e.has_procedure]
    items.append(
        ChecklistItem(
            "Every alert, schedule and pipeline has an owner and a procedure (the runbook)",
            "12_monitor_and_retrain.ipynb",
            bool(runbook) and not gaps,
            f"{len(owned)} of {len(runbook)} entries owned"
            + (f"; no procedure: {', '.join(gaps)}" if gaps else ""),
        )
    )
    return items


def checklist_markdown(items: list[ChecklistItem]) -> str:
    """The checklist as a Markdown task list with a link per item (MyST resolves the links between
    the book's pages; Jupyter opens the notebooks)."""
    return "\n".join(f"- [{'x' if i.done else ' '}] [{i.item}]({i.chapter})" for i in items)

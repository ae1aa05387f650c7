"""Week 12's handover: the runbook, the maturity assessment scored again from evidence, and the
Migrate checklist, all built from the design and from what exists in the workspaces and the
repository, on either backend."""

from __future__ import annotations

from accelerator.handover.checklist import ChecklistItem, checklist_markdown, migrate_checklist
from accelerator.handover.evidence import CHECKS, Estate, Finding, gather, rescore
from accelerator.handover.runbook import (
    RunbookEntry,
    build_runbook,
    describe_trigger,
    owners,
    runbook_markdown,
)

__all__ = [
    "CHECKS",
    "ChecklistItem",
    "Estate",
    "Finding",
    "RunbookEntry",
    "build_runbook",
    "checklist_markdown",
    "describe_trigger",
    "gather",
    "migrate_checklist",
    "owners",
    "rescore",
    "runbook_markdown",
]

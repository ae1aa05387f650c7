"""The approver of a production release comes from the RACI and the team, and nobody else."""

from __future__ import annotations

import pytest
from design_inputs import DESIGN, copy_design, edit

from accelerator import design
from accelerator.design.approval import RELEASE_ACTIVITY, ApprovalRefused, approve, approvers


def test_the_accountable_for_releases_approves():
    inputs = design.load_inputs(DESIGN)
    assert approvers(inputs) == ("team_lead", "Team lead", ("Sam Patel",))
    approval = approve(inputs, None)  # the book's run: the Accountable's person
    assert (approval.approver, approval.role, approval.activity) == (
        "Sam Patel",
        "team_lead",
        RELEASE_ACTIVITY,
    )
    assert approve(inputs, " Sam Patel ").approver == "Sam Patel"


@pytest.mark.parametrize("someone", ["Tom Becker", "Alex Morgan", "", "sam patel"])
def test_anyone_else_is_refused_with_who_may(someone):
    with pytest.raises(ApprovalRefused, match=r"the Team lead is Accountable .* held by Sam Patel"):
        approve(design.load_inputs(DESIGN), someone)


def test_the_approver_follows_the_design(tmp_path):
    folder = copy_design(tmp_path)
    edit(
        folder,
        "raci.yaml",
        "roles: {team_lead: A, mlops_engineer: R, devops_engineer: C, tester: C, data_scientist: I}",
        "roles: {team_lead: C, mlops_engineer: AR, devops_engineer: C, tester: C, data_scientist: I}",
    )
    inputs = design.load_inputs(folder)
    assert approve(inputs, "Tom Becker").role == "mlops_engineer"
    with pytest.raises(ApprovalRefused, match="held by Tom Becker"):
        approve(inputs, "Sam Patel")


def test_an_activity_missing_from_the_raci_is_named():
    with pytest.raises(ApprovalRefused, match="no activity 'Ship it'"):
        approve(design.load_inputs(DESIGN), None, activity="Ship it")

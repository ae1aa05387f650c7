"""Who may approve a release to production: the RACI's Accountable for releasing models.

Week 1's ``design/raci.yaml`` names one Accountable role per activity; ``design/team.yaml`` names
the people who hold each role. The approver of a production release is a person holding the
Accountable role of the release activity; anyone else is refused. On GitHub and Azure DevOps the
same people are the ``prod`` environment's required reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelerator.design.inputs import DesignInputs

#: The RACI activity that covers promoting a model to test and production.
RELEASE_ACTIVITY = "Run CI/CD and promote models across environments"


class ApprovalRefused(PermissionError):
    """The approver does not hold the Accountable role of the release activity."""


@dataclass(frozen=True)
class Approval:
    activity: str
    role: str  # the Accountable role's key in team.yaml
    role_title: str
    approver: str
    people: tuple[str, ...]  # everyone who may approve


def approvers(inputs: DesignInputs, activity: str = RELEASE_ACTIVITY) -> tuple[str, str, tuple[str, ...]]:
    """(role key, role title, the people holding it) of ``activity``'s Accountable."""
    found = inputs.raci.find(activity)
    if found is None:
        raise ApprovalRefused(f"design/raci.yaml has no activity '{activity}': add it, with one Accountable.")
    role = found.accountable
    people = tuple(inputs.team.holders(role))
    if not people:
        raise ApprovalRefused(
            f"Nobody holds the role '{role}', Accountable for '{activity}': add them to design/team.yaml."
        )
    return role, inputs.team.roles[role].title, people


def approve(inputs: DesignInputs, approver: str | None, activity: str = RELEASE_ACTIVITY) -> Approval:
    """The approval of ``approver`` (``None``: the first person holding the Accountable role),
    or ``ApprovalRefused`` naming who may approve."""
    role, title, people = approvers(inputs, activity)
    chosen = people[0] if approver is None else approver.strip()
    if chosen not in people:
        raise ApprovalRefused(
            f"{chosen or 'Nobody'} may not approve '{activity}': the {title} is Accountable "
            f"(design/raci.yaml), held by {', '.join(people)} (design/team.yaml)."
        )
    return Approval(activity, role, title, chosen, people)

"""Access (design/rbac.yaml): team roles in groups, Azure roles per group and environment, custom roles."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from accelerator.design._types import EnvironmentName, Key, Model, RoleKey, Text

ACTION = r"^Microsoft\.[A-Za-z]+/[A-Za-z0-9*/._-]+$"
# Roles that grant access to others: whoever bootstraps the subscription holds those, not a design
# that pipelines apply (the Terraform variables refuse them too).
ACCESS_ADMINISTRATION = ("Owner", "User Access Administrator", "Role Based Access Control Administrator")


@cache
def builtin_roles() -> tuple[str, ...]:
    """Azure built-in role names the design may assign (package data: data/azure_roles.txt)."""
    text = files("accelerator.design").joinpath("data/azure_roles.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _known_group(value: str, info: ValidationInfo) -> str:
    groups = (info.context or {}).get("groups")
    if groups is not None and value not in groups:
        raise ValueError(f"unknown group '{value}': not one of the groups above")
    return value


def _known_azure_role(value: str, info: ValidationInfo) -> str:
    if value in ACCESS_ADMINISTRATION:
        raise ValueError(
            f"'{value}' grants access to others: keep it out of the design (it is the bootstrap's)"
        )
    custom = (info.context or {}).get("custom_roles", ())
    if value not in builtin_roles() and value not in custom:
        raise ValueError(
            f"'{value}' is neither an Azure built-in role the design knows "
            "(accelerator/design/data/azure_roles.txt) nor a custom role defined under custom_roles"
        )
    return value


def _each_once(roles: list[str]) -> list[str]:
    twice = sorted({r for r in roles if roles.count(r) > 1})
    if twice:
        raise ValueError(f"listed twice: {', '.join(twice)}")
    return roles


GroupKey = Annotated[Key, AfterValidator(_known_group)]
AzureRole = Annotated[str, AfterValidator(_known_azure_role)]
AzureRoles = Annotated[list[AzureRole], AfterValidator(_each_once)]
Action = Annotated[str, Field(pattern=ACTION)]


class Group(Model):
    kind: Literal["group", "identity"] = "group"  # an Entra ID group of people, or a workload identity
    members: list[RoleKey] = Field(default_factory=list)  # team roles whose people are in the group
    description: str = ""

    @model_validator(mode="after")
    def _people_in_groups_only(self) -> Group:
        if self.kind == "group" and not self.members:
            raise ValueError("a group needs members: the team roles whose people it holds")
        if self.kind == "identity" and self.members:
            raise ValueError("an identity has no members: it is a pipeline's or service's own identity")
        return self


class CustomRole(Model):
    description: Text
    actions: list[Action] = Field(min_length=1)
    not_actions: list[Action] = Field(default_factory=list)


class RbacInputs(Model):
    groups: dict[Key, Group] = Field(min_length=1)
    assignments: dict[GroupKey, dict[EnvironmentName, AzureRoles]]
    custom_roles: dict[Text, CustomRole] = Field(default_factory=dict)

    @field_validator("custom_roles")
    @classmethod
    def _not_a_builtin_name(cls, roles: dict[str, CustomRole]) -> dict[str, CustomRole]:
        clash = [name for name in roles if name in builtin_roles()]
        if clash:
            raise ValueError(
                f"{', '.join(clash)}: a built-in role has this name; name the custom role otherwise"
            )
        return roles


class RbacPlan(Model):
    """Per environment of the topology: each group's built-in and custom Azure roles."""

    builtin: dict[str, dict[str, list[str]]]
    custom: dict[str, dict[str, list[str]]]
    definitions: dict[str, dict[str, Any]]  # custom role name -> Azure role definition (JSON)


def plan_rbac(rbac: RbacInputs, resource_groups: dict[str, str]) -> RbacPlan:
    """The RBAC plan for the topology's environments (``resource_groups``: environment -> group name)."""
    builtin: dict[str, dict[str, list[str]]] = {}
    custom: dict[str, dict[str, list[str]]] = {}
    for env in resource_groups:
        builtin[env], custom[env] = {}, {}
        for group, per_environment in rbac.assignments.items():
            roles = per_environment.get(env, [])
            if [r for r in roles if r in builtin_roles()]:
                builtin[env][group] = [r for r in roles if r in builtin_roles()]
            if [r for r in roles if r not in builtin_roles()]:
                custom[env][group] = [r for r in roles if r not in builtin_roles()]
    definitions = {}
    for name, role in rbac.custom_roles.items():
        used_in = [env for env in resource_groups if any(name in roles for roles in custom[env].values())]
        if used_in:
            definitions[name] = custom_role_definition(name, role, [resource_groups[e] for e in used_in])
    return RbacPlan(builtin=builtin, custom=custom, definitions=definitions)


def custom_role_definition(name: str, role: CustomRole, resource_groups: list[str]) -> dict[str, Any]:
    """The role definition Azure takes (``az role definition create --role-definition``)."""
    return {
        "Name": name,
        "IsCustom": True,
        "Description": role.description,
        "Actions": list(role.actions),
        "NotActions": list(role.not_actions),
        "DataActions": [],
        "NotDataActions": [],
        # Assignable only where it is used; <subscription-id> is filled in at deployment.
        "AssignableScopes": [
            f"/subscriptions/<subscription-id>/resourceGroups/{rg}" for rg in resource_groups
        ],
    }


def access_by_person(people: list[Any], rbac: RbacInputs, plan: RbacPlan) -> list[dict[str, str]]:
    """What each person may do in each environment, through the groups their roles put them in."""
    rows = []
    for person in people:
        groups = [g for g, group in rbac.groups.items() if set(group.members) & set(person.roles)]
        row = {"person": person.name, "groups": ", ".join(groups) or "(none)"}
        for env in plan.builtin:
            roles = [r for g in groups for r in plan.builtin[env].get(g, []) + plan.custom[env].get(g, [])]
            row[env] = ", ".join(dict.fromkeys(roles)) or "-"
        rows.append(row)
    return rows

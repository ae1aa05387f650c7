"""The naming convention for the accelerator's Azure resources (see the Deploy stage overview)."""

from __future__ import annotations

import os
import re

ENVIRONMENTS: tuple[str, ...] = ("dev", "test", "prod")
DEFAULT_PROJECT = "taxi"
PROJECT_VARIABLE = "ACCELERATOR_PROJECT"


_PROJECT = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")


def project_name(project: str | None = None) -> str:
    """The project part of resource names: 1-20 lowercase letters, digits and inner hyphens, so
    that every name built from it (storage accounts included) is valid on Azure."""
    name = project or os.environ.get(PROJECT_VARIABLE) or DEFAULT_PROJECT
    if not _PROJECT.match(name):
        raise ValueError(
            f"Invalid project name {name!r}: use 1-20 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit (for example 'taxi')."
        )
    return name


def check_environment(environment: str) -> str:
    if environment not in ENVIRONMENTS:
        raise ValueError(
            f"Unknown environment {environment!r}. Valid environments: {', '.join(ENVIRONMENTS)}."
        )
    return environment


def check_environments(environments: str | list[str] | tuple[str, ...]) -> list[str]:
    """A notebook's ``environments`` parameter as a list: each valid, none twice, dev/test/prod order.

    A string names one environment or several separated by commas (``papermill -p environments dev,prod``).
    """
    if isinstance(environments, str):
        chosen = [e.strip() for e in environments.split(",") if e.strip()]
    else:
        chosen = list(environments)
    if not chosen:
        raise ValueError(f"Name at least one environment of: {', '.join(ENVIRONMENTS)}.")
    for environment in chosen:
        check_environment(environment)
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"An environment is named twice in {chosen}.")
    return sorted(chosen, key=ENVIRONMENTS.index)


def workspace_name(environment: str, project: str | None = None) -> str:
    """``mlw-<project>-<env>``, e.g. ``mlw-taxi-dev``."""
    return f"mlw-{project_name(project)}-{check_environment(environment)}"


def resource_group_name(environment: str, project: str | None = None) -> str:
    """``rg-<project>-<env>``, one resource group per environment."""
    return f"rg-{project_name(project)}-{check_environment(environment)}"


def registry_name(project: str | None = None) -> str:
    """``mlr-<project>``: the registry shared by all environments, for promotion."""
    return f"mlr-{project_name(project)}"

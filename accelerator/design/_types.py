"""Building blocks shared by the decision model: a strict base model and checked names."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from accelerator import naming
from accelerator.regions import AZURE_ML_REGIONS


class Model(BaseModel):
    """Every design record: unknown keys are errors (a misspelt setting must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_role(value: str, info: ValidationInfo) -> str:
    # The roles are team.yaml's; validation passes them as context. Records read back from the
    # store were checked when they were made, and carry no context.
    roles = (info.context or {}).get("roles")
    if roles is not None and value not in roles:
        raise ValueError(f"unknown role '{value}': not one of the roles in team.yaml")
    return value


def _known_environment(value: str) -> str:
    if value not in naming.ENVIRONMENTS:
        raise ValueError(f"unknown environment '{value}': use {', '.join(naming.ENVIRONMENTS)}")
    return value


def _short_name(value: str) -> str:
    return naming.project_name(value)


def _region(value: str) -> str:
    if value not in AZURE_ML_REGIONS:
        raise ValueError(f"'{value}' is not an Azure region with Azure ML (for example westeurope)")
    return value


Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="a lowercase key: letters, digits, _")]
RoleKey = Annotated[Key, AfterValidator(_known_role)]
EnvironmentName = Annotated[str, AfterValidator(_known_environment)]
ShortName = Annotated[str, Field(min_length=1), AfterValidator(_short_name)]
Region = Annotated[str, AfterValidator(_region)]
Text = Annotated[str, Field(min_length=1)]


def ordered_environments(names: Any) -> list[str]:
    """Environment names in promotion order (dev, test, prod)."""
    return sorted(names, key=naming.ENVIRONMENTS.index)

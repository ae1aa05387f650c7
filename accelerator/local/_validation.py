"""Checks every entity passes before the local backend stores it.

First the SDK's own client-side validation and REST serialisation (what ``MLClient`` runs before
it sends a request), then the naming rules the Azure ML service enforces.
"""

from __future__ import annotations

import re
from typing import Any

from azure.ai.ml.exceptions import ErrorTarget, ValidationErrorType
from azure.core.exceptions import HttpResponseError

from accelerator.local._exceptions import user_error, validation_error
from accelerator.regions import AZURE_ML_REGIONS

# The service's naming rules, with the wording of its error messages.
_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "workspace": (
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$"),
        "Workspace name must be between 3 and 33 characters long. Its first character has to be "
        "alphanumeric, and the rest may contain hyphens and underscores. No whitespace is allowed.",
    ),
    "registry": (
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$"),
        "Registry name must be between 3 and 33 characters long, start with an alphanumeric "
        "character, and contain only alphanumeric characters, hyphens and underscores.",
    ),
    "compute": (
        re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,14}[a-zA-Z0-9]$"),
        "Compute name is invalid. It can include letters, digits and dashes. It must start with a "
        "letter, end with a letter or digit, and be between 2 and 16 characters in length.",
    ),
    "deployment": (
        re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$"),
        "Deployment name must be 3 to 32 characters: letters, digits and '-', starting with a "
        "letter and ending with a letter or digit.",
    ),
    "datastore": (
        re.compile(r"^[a-z0-9_]{1,255}$"),
        "Datastore name can only contain lowercase letters, digits and underscores.",
    ),
    "asset": (
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$"),
        "Asset name must start with an alphanumeric character and contain only alphanumeric "
        "characters, '-', '_' and '.', up to 255 characters.",
    ),
    "job": (
        # Azure ML's run ids: the SDK generates names of this shape, and the service refuses others.
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$"),
        "Job name must start with a letter or digit and contain only letters, digits, '-' and '_', "
        "up to 255 characters.",
    ),
    "endpoint": (
        re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$"),
        "Endpoint name must be 3 to 32 characters: letters, digits and '-', starting with a letter "
        "and ending with a letter or digit.",
    ),
    "version": (
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,29}$"),
        "Asset version must start with an alphanumeric character and contain only alphanumeric "
        "characters, '-', '_' and '.', up to 30 characters.",
    ),
}


def check_location(location: str, resource_type: str) -> str:
    """The service's ``LocationNotAvailableForResourceType`` error for an unknown region."""
    normalised = location.replace(" ", "").lower()
    if normalised not in AZURE_ML_REGIONS:
        raise HttpResponseError(
            message=f"(LocationNotAvailableForResourceType) The provided location '{location}' is not "
            f"available for resource type 'Microsoft.MachineLearningServices/{resource_type}'. List of "
            f"available regions for the resource type is '{','.join(AZURE_ML_REGIONS)}'."
        )
    return normalised


def check_name(kind: str, name: Any, target: ErrorTarget = ErrorTarget.GENERAL) -> str:
    """Raise the SDK's ``ValidationException`` when ``name`` breaks the service's rule for ``kind``."""
    pattern, rule = _RULES[kind]
    if not name:
        raise user_error(f"A {kind} name is required.", target, ValidationErrorType.MISSING_FIELD)
    if not isinstance(name, str) or not pattern.match(name):
        raise user_error(f"Invalid {kind} name '{name}'. {rule}", target)
    return name


def to_rest(entity: Any, **kwargs: Any) -> Any:
    """Run the SDK's client-side validation and REST serialisation, as ``MLClient`` does.

    Returns the REST object; any ``ValidationException`` the SDK raises propagates unchanged.
    """
    validate = getattr(entity, "_validate", None)
    if callable(validate):
        result = validate()
        # Some entities return a ValidationResult rather than raising.
        if hasattr(result, "passed") and not result.passed:
            raise validation_error(str(result))
    rest = entity._to_rest_object(**kwargs)
    # The REST model must serialise to the service's JSON body, or the request could not be sent.
    if hasattr(rest, "as_dict"):
        rest.as_dict()
    elif hasattr(rest, "serialize"):
        rest.serialize()
    return rest

"""``connect()``: the one line that differs between a real workspace and this machine."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelerator import naming
from accelerator.local import LocalMLClient

BACKENDS: tuple[str, ...] = ("local", "azure")
BACKEND_VARIABLE = "ACCELERATOR_BACKEND"
LOGIN_TIMEOUT_SECONDS = 10.0
_ARM_SCOPE = "https://management.azure.com/.default"

LOGIN_HELP = """No Azure credential worked, so the notebooks cannot reach your workspace.
- On your own machine: run `az login` (and `az account set --subscription <id>`), then restart the kernel.
- On an Azure ML compute instance: assign the instance a managed identity with access to the workspace
  (or run `az login --identity` in a terminal).
- In CI: log in with workload identity (azure/login with OIDC) or set AZURE_CLIENT_ID,
  AZURE_TENANT_ID and AZURE_CLIENT_SECRET.
- To run without Azure: connect(environment, backend="local") or set ACCELERATOR_BACKEND=local."""


class AzureLoginError(RuntimeError):
    """No usable Azure credential: the message says how to log in; ``cause`` is the credential's error."""

    cause: BaseException | None = None


@dataclass(frozen=True)
class AzureWorkspaceSettings:
    subscription_id: str
    resource_group: str
    workspace_name: str
    source: str  # where the settings came from, for messages


def _variables(environment: str) -> dict[str, str | None]:
    prefix = f"AZUREML_{environment.upper()}_"
    return {
        "subscription_id": os.environ.get(prefix + "SUBSCRIPTION_ID"),
        "resource_group": os.environ.get(prefix + "RESOURCE_GROUP"),
        "workspace_name": os.environ.get(prefix + "WORKSPACE_NAME"),
    }


def _config_candidates(start: Path) -> list[Path]:
    folders = [start, *start.parents]
    return [folder / sub for folder in folders for sub in ("", ".azureml")]


def _read_config(path: Path) -> dict[str, str]:
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"The workspace config file {path} cannot be read: {error}") from error
    missing = [k for k in ("subscription_id", "resource_group", "workspace_name") if not config.get(k)]
    if missing:
        raise ValueError(f"The workspace config file {path} lacks {', '.join(missing)}.")
    return config


def find_azure_settings(environment: str, start: Path | None = None) -> AzureWorkspaceSettings | None:
    """The Azure workspace of ``environment``, from environment variables or a config file.

    Looked up in order: ``AZUREML_<ENV>_SUBSCRIPTION_ID/_RESOURCE_GROUP/_WORKSPACE_NAME``;
    ``config.<env>.json``; then the standard ``config.json`` (from the studio, or the one on a compute
    instance). A ``config.json`` for ``mlw-taxi-dev`` in ``rg-taxi-dev`` also gives test and prod by
    the naming convention (``mlw-taxi-test`` in ``rg-taxi-test``). Each file is searched for in the
    working folder, its parents, and their ``.azureml`` folders.
    """
    naming.check_environment(environment)
    variables = _variables(environment)
    if any(variables.values()):
        missing = [f"AZUREML_{environment.upper()}_{k.upper()}" for k, v in variables.items() if not v]
        if missing:
            raise ValueError(
                f"Set {', '.join(missing)} too, or unset the other AZUREML_{environment.upper()}_* variables."
            )
        return AzureWorkspaceSettings(**variables, source="environment variables")  # type: ignore[arg-type]
    folders = _config_candidates((start or Path.cwd()).resolve())
    for folder in folders:
        path = folder / f"config.{environment}.json"
        if path.is_file():
            config = _read_config(path)
            return AzureWorkspaceSettings(
                config["subscription_id"], config["resource_group"], config["workspace_name"], str(path)
            )
    for folder in folders:
        path = folder / "config.json"
        if path.is_file():
            return _from_shared_config(_read_config(path), environment, path)
    return None


def _from_shared_config(
    config: dict[str, str], environment: str, path: Path
) -> AzureWorkspaceSettings | None:
    workspace, group = config["workspace_name"], config["resource_group"]
    for other in naming.ENVIRONMENTS:
        if workspace.endswith(f"-{other}"):
            workspace = workspace[: -len(other)] + environment
            if group.endswith(f"-{other}"):
                group = group[: -len(other)] + environment
            return AzureWorkspaceSettings(config["subscription_id"], group, workspace, str(path))
    # A workspace outside the naming convention is the one you work in: use it for dev only.
    if environment == "dev":
        return AzureWorkspaceSettings(config["subscription_id"], group, workspace, str(path))
    return None


def resolve_backend(backend: str | None, environment: str) -> str:
    """Argument, then ``ACCELERATOR_BACKEND``, then azure where a workspace config exists, else local.

    A workspace config for any environment means azure for every environment: a notebook never
    mixes backends. An environment that then has no config of its own fails in ``connect``.
    """
    naming.check_environment(environment)
    chosen = backend or os.environ.get(BACKEND_VARIABLE) or None
    if chosen is None:
        found = any(find_azure_settings(env) for env in naming.ENVIRONMENTS)
        return "azure" if found else "local"
    chosen = chosen.strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"Unknown backend {chosen!r}. Valid backends: {', '.join(BACKENDS)}.")
    return chosen


def default_credential() -> Any:
    """``DefaultAzureCredential`` that never opens a browser.

    Managed identity is tried only where one is announced (``IDENTITY_ENDPOINT`` or
    ``MSI_ENDPOINT``, as on an Azure ML compute instance) or asked for with
    ``ACCELERATOR_MANAGED_IDENTITY=true``: elsewhere probing the metadata endpoint only adds delay.
    """
    from azure.identity import DefaultAzureCredential

    managed = bool(os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"))
    managed = managed or os.environ.get("ACCELERATOR_MANAGED_IDENTITY", "").lower() == "true"
    return DefaultAzureCredential(
        exclude_interactive_browser_credential=True,
        exclude_managed_identity_credential=not managed,
    )


def check_credential(credential: Any, timeout: float = LOGIN_TIMEOUT_SECONDS) -> None:
    """Get a token now, so a missing login fails here, within ``timeout`` seconds, and says why."""
    outcome: dict[str, BaseException | None] = {}

    def attempt() -> None:
        try:
            credential.get_token(_ARM_SCOPE)
            outcome["error"] = None
        except BaseException as error:  # reported to the caller below
            outcome["error"] = error

    # azure.identity logs every credential it tried as a warning: the error below says it once.
    identity_logger = logging.getLogger("azure.identity")
    level = identity_logger.level
    identity_logger.setLevel(logging.CRITICAL)
    try:
        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout)
    finally:
        identity_logger.setLevel(level)
    if "error" not in outcome:
        raise AzureLoginError(f"Getting an Azure token took over {timeout:g} seconds.\n{LOGIN_HELP}")
    cause = outcome["error"]
    if cause is not None:
        said = "\n".join(str(cause).strip().splitlines()[:12])
        error = AzureLoginError(f"{LOGIN_HELP}\n\nWhat the credential said:\n{said}")
        error.cause = cause
        # Raised without the credential's own traceback, so the advice is what a notebook shows.
        raise error from None


def connect(
    environment: str = "dev",
    backend: str | None = None,
    *,
    project: str | None = None,
    credential: Any = None,
) -> Any:
    """The ``MLClient`` of one environment's workspace (dev, test or prod).

    ``backend="azure"`` returns ``azure.ai.ml.MLClient``; ``backend="local"`` the embedded
    ``LocalMLClient`` with the same interface. Without ``backend``: ``ACCELERATOR_BACKEND``, else
    azure where a workspace config is found, else local.
    """
    naming.check_environment(environment)
    chosen = resolve_backend(backend, environment)
    if chosen == "local":
        return LocalMLClient(
            naming.workspace_name(environment, project),
            resource_group_name=naming.resource_group_name(environment, project),
        )
    settings = find_azure_settings(environment)
    if settings is None:
        raise ValueError(
            f"No Azure workspace is configured for '{environment}'. Set AZUREML_{environment.upper()}_"
            "SUBSCRIPTION_ID, _RESOURCE_GROUP and _WORKSPACE_NAME, or put the workspace's config.json "
            f"(or config.{environment}.json) in this folder or a parent."
        )
    from azure.ai.ml import MLClient

    credential = credential or default_credential()
    check_credential(credential)
    return MLClient(
        credential,
        subscription_id=settings.subscription_id,
        resource_group_name=settings.resource_group,
        workspace_name=settings.workspace_name,
    )


def connect_registry(
    name: str | None = None,
    backend: str | None = None,
    *,
    project: str | None = None,
    credential: Any = None,
) -> Any:
    """The ``MLClient`` of the project's registry (``mlr-<project>`` unless ``name`` is given).

    The same rule as ``connect``: ``backend="azure"`` gives ``MLClient(credential,
    registry_name=name)`` (a registry client needs no subscription or resource group);
    ``backend="local"`` gives ``LocalMLClient(registry_name=name)`` on the local store. Its
    ``models``, ``environments`` and ``components`` act on the registry.
    """
    registry = name or naming.registry_name(project)
    chosen = resolve_backend(backend, "dev")
    if chosen == "local":
        return LocalMLClient(registry_name=registry)
    from azure.ai.ml import MLClient

    credential = credential or default_credential()
    check_credential(credential)
    return MLClient(credential, registry_name=registry)

"""``connect()``: backend resolution, workspace config discovery, and failing fast without a login."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from azure.identity import CredentialUnavailableError

from accelerator import AzureLoginError, connect, find_azure_settings, resolve_backend
from accelerator._connect import check_credential, default_credential
from accelerator.local import LocalMLClient

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"

# Everything that could give DefaultAzureCredential a working login on the machine running the tests.
_CREDENTIAL_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TOKEN_CREDENTIALS",
    "ACCELERATOR_MANAGED_IDENTITY",
)


def _write_config(folder: Path, workspace: str, group: str, name: str = "config.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        json.dumps({"subscription_id": SUBSCRIPTION, "resource_group": group, "workspace_name": workspace})
    )
    return path


def _set_dev_variables(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    values = {
        "SUBSCRIPTION_ID": SUBSCRIPTION,
        "RESOURCE_GROUP": "rg-cloud-dev",
        "WORKSPACE_NAME": "mlw-cloud-dev",
    }
    values.update(overrides)
    for key, value in values.items():
        monkeypatch.setenv(f"AZUREML_DEV_{key}", value)


class _FailingCredential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.calls += 1
        raise CredentialUnavailableError(message="No login was found on this machine.")


class _HangingCredential:
    def __init__(self) -> None:
        self.release = threading.Event()

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.release.wait(30)
        return AccessToken("late", int(time.time()) + 3600)


class _ValidCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("x", int(time.time()) + 365 * 24 * 3600)


# Backend resolution -----------------------------------------------------------------------------


def test_default_backend_is_local_without_any_config(home: Path) -> None:
    assert find_azure_settings("dev") is None
    assert resolve_backend(None, "dev") == "local"
    assert isinstance(connect(), LocalMLClient)


def test_workspace_config_selects_azure(home: Path) -> None:
    _write_config(home.parent, "mlw-taxi-dev", "rg-taxi-dev")
    assert resolve_backend(None, "dev") == "azure"


def test_environment_variable_beats_workspace_config(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(home.parent, "mlw-taxi-dev", "rg-taxi-dev")
    monkeypatch.setenv("ACCELERATOR_BACKEND", "local")
    assert resolve_backend(None, "dev") == "local"
    client = connect("dev")
    assert isinstance(client, LocalMLClient)


def test_argument_beats_environment_variable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELERATOR_BACKEND", "azure")
    assert resolve_backend("local", "dev") == "local"
    assert isinstance(connect("dev", backend="local"), LocalMLClient)
    monkeypatch.setenv("ACCELERATOR_BACKEND", "local")
    assert resolve_backend("azure", "dev") == "azure"


def test_backend_names_are_case_and_space_insensitive(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_backend(" Local ", "dev") == "local"
    monkeypatch.setenv("ACCELERATOR_BACKEND", "AZURE")
    assert resolve_backend(None, "dev") == "azure"


@pytest.mark.parametrize("via", ["argument", "variable"])
def test_unknown_backend_lists_valid_ones(home: Path, monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    if via == "variable":
        monkeypatch.setenv("ACCELERATOR_BACKEND", "cloud")
    backend = "cloud" if via == "argument" else None
    with pytest.raises(ValueError, match="Unknown backend 'cloud'") as caught:
        connect("dev", backend=backend)
    assert "local" in str(caught.value)
    assert "azure" in str(caught.value)


@pytest.mark.parametrize("backend", ["local", "azure", None])
def test_unknown_environment_lists_valid_ones(home: Path, backend: str | None) -> None:
    with pytest.raises(ValueError, match="Unknown environment 'staging'") as caught:
        connect("staging", backend=backend)
    assert "dev, test, prod" in str(caught.value)


def test_find_azure_settings_rejects_unknown_environment(home: Path) -> None:
    with pytest.raises(ValueError, match="Valid environments: dev, test, prod"):
        find_azure_settings("qa")


# Workspace config discovery ---------------------------------------------------------------------


def test_settings_from_environment_variables(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_dev_variables(monkeypatch)
    settings = find_azure_settings("dev")
    assert settings is not None
    assert (settings.subscription_id, settings.resource_group, settings.workspace_name) == (
        SUBSCRIPTION,
        "rg-cloud-dev",
        "mlw-cloud-dev",
    )
    assert settings.source == "environment variables"
    # Variables of one environment say nothing about another's workspace, but they do choose
    # the backend for all of them: a notebook never mixes Azure and local workspaces.
    assert find_azure_settings("test") is None
    assert resolve_backend(None, "test") == "azure"


def test_environment_variables_beat_config_files(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(home.parent, "mlw-file-dev", "rg-file-dev", "config.dev.json")
    _set_dev_variables(monkeypatch)
    settings = find_azure_settings("dev")
    assert settings is not None
    assert settings.workspace_name == "mlw-cloud-dev"


def test_partial_environment_variables_name_the_missing_ones(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_DEV_WORKSPACE_NAME", "mlw-cloud-dev")
    with pytest.raises(ValueError) as caught:
        find_azure_settings("dev")
    message = str(caught.value)
    assert "AZUREML_DEV_SUBSCRIPTION_ID" in message
    assert "AZUREML_DEV_RESOURCE_GROUP" in message
    assert "WORKSPACE_NAME" not in message  # the one that is set
    # resolve_backend and connect surface the same error rather than silently going local.
    with pytest.raises(ValueError, match="AZUREML_DEV_RESOURCE_GROUP"):
        connect("dev")


def test_environment_specific_config_file(home: Path) -> None:
    path = _write_config(home.parent, "mlw-special-test", "rg-special", "config.test.json")
    settings = find_azure_settings("test")
    assert settings is not None
    assert (settings.workspace_name, settings.resource_group) == ("mlw-special-test", "rg-special")
    assert settings.source == str(path)
    assert find_azure_settings("dev") is None


def test_environment_specific_config_beats_shared_config(home: Path) -> None:
    _write_config(home.parent, "mlw-taxi-dev", "rg-taxi-dev")
    _write_config(home.parent / ".azureml", "mlw-other-test", "rg-other", "config.test.json")
    settings = find_azure_settings("test")
    assert settings is not None
    assert settings.workspace_name == "mlw-other-test"


def test_config_found_in_parent_and_azureml_folder(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = home.parent / "project"
    nested = project / "notebooks" / "deep"
    nested.mkdir(parents=True)
    _write_config(project / ".azureml", "mlw-taxi-dev", "rg-taxi-dev")
    monkeypatch.chdir(nested)
    settings = find_azure_settings("dev")
    assert settings is not None
    assert settings.workspace_name == "mlw-taxi-dev"
    assert settings.source == str(project / ".azureml" / "config.json")
    # The explicit start folder is honoured too.
    assert find_azure_settings("dev", start=home.parent / "elsewhere") is None


@pytest.mark.parametrize(
    ("environment", "workspace", "group"),
    [
        ("dev", "mlw-taxi-dev", "rg-taxi-dev"),
        ("test", "mlw-taxi-test", "rg-taxi-test"),
        ("prod", "mlw-taxi-prod", "rg-taxi-prod"),
    ],
)
def test_shared_config_follows_the_naming_convention(
    home: Path, environment: str, workspace: str, group: str
) -> None:
    _write_config(home.parent, "mlw-taxi-dev", "rg-taxi-dev")
    settings = find_azure_settings(environment)
    assert settings is not None
    assert (settings.subscription_id, settings.workspace_name, settings.resource_group) == (
        SUBSCRIPTION,
        workspace,
        group,
    )


def test_shared_config_from_another_environment_is_mapped(home: Path) -> None:
    # The config.json of a compute instance in the test workspace still finds dev.
    _write_config(home.parent, "mlw-taxi-test", "rg-taxi-test")
    settings = find_azure_settings("dev")
    assert settings is not None
    assert (settings.workspace_name, settings.resource_group) == ("mlw-taxi-dev", "rg-taxi-dev")


def test_config_outside_the_convention_is_for_dev_only(home: Path) -> None:
    _write_config(home.parent, "my-workspace", "my-group")
    settings = find_azure_settings("dev")
    assert settings is not None
    assert (settings.workspace_name, settings.resource_group) == ("my-workspace", "my-group")
    assert find_azure_settings("test") is None
    assert find_azure_settings("prod") is None
    # One backend for every environment: prod does not silently fall back to local...
    assert resolve_backend(None, "dev") == "azure"
    assert resolve_backend(None, "prod") == "azure"
    # ...it fails, saying how to configure its workspace.
    with pytest.raises(ValueError, match="No Azure workspace is configured for 'prod'"):
        connect("prod", credential=_ValidCredential())


def test_malformed_config_gives_a_clear_error(home: Path) -> None:
    path = home.parent / "config.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read") as caught:
        find_azure_settings("dev")
    assert str(path) in str(caught.value)


def test_config_missing_keys_names_them(home: Path) -> None:
    (home.parent / "config.json").write_text(json.dumps({"subscription_id": SUBSCRIPTION}))
    with pytest.raises(ValueError, match="lacks resource_group, workspace_name"):
        find_azure_settings("dev")


# The local backend ------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "test", "prod"])
def test_local_connect_uses_the_naming_convention(home: Path, environment: str) -> None:
    client = connect(environment, backend="local")
    assert isinstance(client, LocalMLClient)
    assert client.workspace_name == f"mlw-taxi-{environment}"
    assert client.resource_group_name == f"rg-taxi-{environment}"
    assert client.home == home.resolve()


def test_local_connect_respects_the_project(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELERATOR_PROJECT", "fraud")
    client = connect("test", backend="local")
    assert (client.workspace_name, client.resource_group_name) == ("mlw-fraud-test", "rg-fraud-test")
    explicit = connect("prod", backend="local", project="churn")
    assert (explicit.workspace_name, explicit.resource_group_name) == ("mlw-churn-prod", "rg-churn-prod")


# The azure backend ------------------------------------------------------------------------------


def test_azure_without_workspace_config_says_how_to_configure(home: Path) -> None:
    with pytest.raises(ValueError, match="No Azure workspace is configured for 'test'") as caught:
        connect("test", backend="azure", credential=_ValidCredential())
    assert "AZUREML_TEST_" in str(caught.value)


def test_azure_with_unavailable_credential_fails_fast(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_dev_variables(monkeypatch)
    credential = _FailingCredential()
    started = time.monotonic()
    with pytest.raises(AzureLoginError) as caught:
        connect("dev", backend="azure", credential=credential)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "az login" in message
    assert "No login was found on this machine." in message
    assert isinstance(caught.value.cause, CredentialUnavailableError)
    assert credential.calls == 1


def test_hanging_credential_times_out() -> None:
    credential = _HangingCredential()
    started = time.monotonic()
    try:
        with pytest.raises(AzureLoginError, match=r"took over 0\.5 seconds") as caught:
            check_credential(credential, timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        credential.release.set()
    assert 0.4 < elapsed < 5
    assert "az login" in str(caught.value)


def test_check_credential_accepts_a_working_credential() -> None:
    credential = _ValidCredential()
    check_credential(credential, timeout=5)
    assert credential.scopes == [("https://management.azure.com/.default",)]


@pytest.fixture
def no_azure_login(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential variables, no managed identity, and empty Azure CLI / azd config folders."""
    for variable in _CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(home.parent / "azure-cli"))
    monkeypatch.setenv("AZD_CONFIG_DIR", str(home.parent / "azd"))


def test_default_credential_skips_managed_identity_unless_announced(
    no_azure_login: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def kinds() -> list[str]:
        return [type(c).__name__ for c in default_credential().credentials]

    assert "ManagedIdentityCredential" not in kinds()
    assert "InteractiveBrowserCredential" not in kinds()
    monkeypatch.setenv("ACCELERATOR_MANAGED_IDENTITY", "true")
    assert "ManagedIdentityCredential" in kinds()
    monkeypatch.delenv("ACCELERATOR_MANAGED_IDENTITY")
    monkeypatch.setenv("MSI_ENDPOINT", "http://127.0.0.1:9/msi")
    assert "ManagedIdentityCredential" in kinds()


def test_azure_with_the_real_default_credential_fails_within_ten_seconds(
    no_azure_login: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_dev_variables(monkeypatch)
    started = time.monotonic()
    with pytest.raises(AzureLoginError, match="az login"):
        connect(backend="azure")
    assert time.monotonic() - started < 10


def test_azure_with_a_valid_credential_returns_mlclient(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.ai.ml import MLClient

    _set_dev_variables(monkeypatch)
    credential = _ValidCredential()
    client = connect("dev", backend="azure", credential=credential)
    assert isinstance(client, MLClient)
    assert (client.subscription_id, client.resource_group_name, client.workspace_name) == (
        SUBSCRIPTION,
        "rg-cloud-dev",
        "mlw-cloud-dev",
    )
    assert credential.scopes, "connect() should check the credential before returning"


def test_azure_backend_chosen_from_config_file(home: Path) -> None:
    from azure.ai.ml import MLClient

    _write_config(home.parent, "mlw-taxi-dev", "rg-taxi-dev")
    client = connect("test", credential=_ValidCredential())
    assert isinstance(client, MLClient)
    assert (client.workspace_name, client.resource_group_name) == ("mlw-taxi-test", "rg-taxi-test")


def test_environments_parameter_is_checked() -> None:
    from accelerator.naming import check_environments

    assert check_environments("prod") == ["prod"]
    assert check_environments(["prod", "dev"]) == ["dev", "prod"]
    with pytest.raises(ValueError, match="Unknown environment 'staging'"):
        check_environments(["dev", "staging"])
    with pytest.raises(ValueError, match="named twice"):
        check_environments(["dev", "dev"])
    with pytest.raises(ValueError, match="at least one"):
        check_environments([])

"""The local backend's data assets and datastores, its store, and the checks built on them."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import (
    AccountKeyConfiguration,
    AmlCompute,
    AzureBlobDatastore,
    AzureFileDatastore,
    Data,
    Environment,
)
from azure.ai.ml.exceptions import AssetPathException, ValidationException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from accelerator import connect
from accelerator._hashing import fingerprint
from accelerator.data import CONTENT_TAG, register_data, version_with_content
from accelerator.local import LocalBackendUnsupportedError, LocalMLClient, _store
from accelerator.local._store import read_record, records, write_record
from accelerator.prerequisites import PrerequisiteError, require
from accelerator.workspace_checks import validate_workspace

IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
MLTABLE = "paths:\n  - file: ./trips.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n"


def _frame(n: int = 3, offset: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"trip_id": list(range(n)), "fare": [10.0 + offset + i for i in range(n)]})


def _csv(path: Path, frame: pd.DataFrame | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (frame if frame is not None else _frame()).to_csv(path, index=False)
    return path


def _uri_file(name: str, path: object, version: str | None = "1") -> Data:
    return Data(name=name, version=version, type=AssetTypes.URI_FILE, path=str(path))


def _read(path: str) -> bytes:
    with fsspec.open(path, "rb") as handle:
        return handle.read()


# Data assets ------------------------------------------------------------------------------------


def test_uri_file_is_copied_into_the_default_datastore(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "src" / "trips.csv")
    asset = ml_client.data.create_or_update(_uri_file("trips", source))
    assert isinstance(asset, Data)
    assert (asset.name, asset.version, asset.type) == ("trips", "1", AssetTypes.URI_FILE)
    assert asset.path.startswith(
        "azureml://subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-taxi-dev/"
        "workspaces/mlw-taxi-dev/datastores/workspaceblobstore/paths/LocalUpload/"
    )
    assert asset.path.endswith("/trips.csv")
    assert asset.id.endswith("/workspaces/mlw-taxi-dev/data/trips/versions/1")
    pd.testing.assert_frame_equal(pd.read_csv(asset.path), _frame())
    assert ml_client.data.get("trips", version="1").path == asset.path

    # Changing or deleting the source afterwards does not change the registered version.
    _csv(source, _frame(offset=100))
    pd.testing.assert_frame_equal(pd.read_csv(asset.path), _frame())
    source.unlink()
    pd.testing.assert_frame_equal(pd.read_csv(ml_client.data.get("trips", version="1").path), _frame())


def test_relative_paths_resolve_from_the_working_folder(ml_client: LocalMLClient, tmp_path: Path) -> None:
    _csv(tmp_path / "trips.csv")  # the home fixture works in tmp_path
    asset = ml_client.data.create_or_update(_uri_file("trips", "trips.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(asset.path), _frame())


def test_uri_folder_keeps_the_tree(ml_client: LocalMLClient, tmp_path: Path) -> None:
    folder = tmp_path / "landing"
    _csv(folder / "2024-01.csv", _frame(2))
    _csv(folder / "nested" / "2024-02.csv", _frame(4))
    asset = ml_client.data.create_or_update(
        Data(name="landing", version="1", type=AssetTypes.URI_FOLDER, path=str(folder))
    )
    assert asset.type == AssetTypes.URI_FOLDER
    assert asset.path.endswith("/landing/")
    pd.testing.assert_frame_equal(pd.read_csv(asset.path + "2024-01.csv"), _frame(2))
    pd.testing.assert_frame_equal(pd.read_csv(asset.path + "nested/2024-02.csv"), _frame(4))
    fs, _, paths = fsspec.get_fs_token_paths(asset.path)
    assert sorted(Path(p).name for p in fs.find(paths[0])) == ["2024-01.csv", "2024-02.csv"]


def test_mltable_needs_an_mltable_file(ml_client: LocalMLClient, tmp_path: Path) -> None:
    folder = tmp_path / "table"
    _csv(folder / "trips.csv")
    with pytest.raises(ValidationException, match="MLTable"):
        ml_client.data.create_or_update(
            Data(name="table", version="1", type=AssetTypes.MLTABLE, path=str(folder))
        )
    assert list(ml_client.data.list(name="table")) == []

    (folder / "MLTable").write_text(MLTABLE)
    asset = ml_client.data.create_or_update(
        Data(name="table", version="1", type=AssetTypes.MLTABLE, path=str(folder))
    )
    assert asset.type == AssetTypes.MLTABLE
    assert _read(asset.path.rstrip("/") + "/MLTable").decode() == MLTABLE
    pd.testing.assert_frame_equal(pd.read_csv(asset.path.rstrip("/") + "/trips.csv"), _frame())


def test_shape_errors(ml_client: LocalMLClient, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    _csv(folder / "trips.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".hidden").write_text("hidden files do not count")
    with pytest.raises(ValidationException, match="is a folder"):
        ml_client.data.create_or_update(_uri_file("shape", folder))
    with pytest.raises(ValidationException, match="is a file"):
        ml_client.data.create_or_update(
            Data(name="shape", version="1", type=AssetTypes.URI_FOLDER, path=str(folder / "trips.csv"))
        )
    with pytest.raises(ValidationException, match="empty"):
        ml_client.data.create_or_update(
            Data(name="shape", version="1", type=AssetTypes.URI_FOLDER, path=str(empty))
        )
    with pytest.raises(ValidationException, match="No such file or directory"):
        ml_client.data.create_or_update(_uri_file("shape", tmp_path / "missing.csv"))
    assert list(ml_client.data.list()) == []


@pytest.mark.parametrize(
    "path", ["https://example.com/trips.csv", "abfss://c@acc.dfs.core.windows.net/trips.csv"]
)
def test_remote_paths_are_unsupported(ml_client: LocalMLClient, path: str) -> None:
    scheme = path.split("://")[0]
    with pytest.raises(LocalBackendUnsupportedError, match=f"{scheme}://"):
        ml_client.data.create_or_update(_uri_file("remote", path))


def test_data_in_another_workspace_is_unsupported(ml_client: LocalMLClient) -> None:
    path = (
        "azureml://subscriptions/s/resourcegroups/rg/workspaces/mlw-other/datastores/"
        "workspaceblobstore/paths/x.csv"
    )
    with pytest.raises(LocalBackendUnsupportedError, match="another workspace"):
        ml_client.data.create_or_update(_uri_file("elsewhere", path))


def test_data_needs_a_path_and_a_supported_type(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "trips.csv")
    with pytest.raises(ValidationException, match="path"):
        ml_client.data.create_or_update(Data(name="nopath", version="1", type=AssetTypes.URI_FILE))
    with pytest.raises(LocalBackendUnsupportedError, match="custom_model"):
        ml_client.data.create_or_update(
            Data(name="model", version="1", type=AssetTypes.CUSTOM_MODEL, path=str(source))
        )
    with pytest.raises(ValidationException):
        ml_client.data.create_or_update(_uri_file("bad name", source))


def test_same_content_same_version_is_the_same_asset(ml_client: LocalMLClient, tmp_path: Path) -> None:
    first = ml_client.data.create_or_update(_uri_file("trips", _csv(tmp_path / "a" / "trips.csv")))
    # Same bytes from another place: the same version, stored once.
    again = ml_client.data.create_or_update(_uri_file("trips", _csv(tmp_path / "b" / "trips.csv")))
    assert (again.name, again.version, again.path) == (first.name, first.version, first.path)
    assert [d.version for d in ml_client.data.list(name="trips")] == ["1"]
    upload_root = (
        ml_client.home
        / "workspaces"
        / "rg-taxi-dev"
        / "mlw-taxi-dev"
        / "storage"
        / "workspaceblobstore"
        / "LocalUpload"
    )
    assert len([p for p in upload_root.iterdir() if not p.name.startswith(".")]) == 1


def test_other_content_same_version_is_refused(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "trips.csv")
    first = ml_client.data.create_or_update(_uri_file("trips", source))
    _csv(source, _frame(offset=1))
    with pytest.raises(AssetPathException, match="trips:1"):
        ml_client.data.create_or_update(_uri_file("trips", source))
    assert ml_client.data.get("trips", version="1").path == first.path
    pd.testing.assert_frame_equal(pd.read_csv(first.path), _frame())


def test_same_content_other_type_same_version_is_refused(ml_client: LocalMLClient, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    _csv(folder / "trips.csv")
    (folder / "MLTable").write_text(MLTABLE)
    ml_client.data.create_or_update(Data(name="t", version="1", type=AssetTypes.URI_FOLDER, path=str(folder)))
    with pytest.raises(AssetPathException):
        ml_client.data.create_or_update(
            Data(name="t", version="1", type=AssetTypes.MLTABLE, path=str(folder))
        )


def test_versions_latest_and_listing(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = tmp_path / "trips.csv"
    versions = []
    for offset in (0, 1, 2):
        _csv(source, _frame(offset=offset))
        versions.append(ml_client.data.create_or_update(_uri_file("trips", source, version=None)).version)
    assert versions == ["1", "2", "3"]
    other = ml_client.data.create_or_update(_uri_file("zones", _csv(tmp_path / "zones.csv"), version="2024"))
    assert other.version == "2024"

    listed = ml_client.data.list(name="trips")
    assert [d.version for d in listed] == ["1", "2", "3"]
    assert all(isinstance(d, Data) for d in listed)
    assert sorted((d.name, d.version) for d in ml_client.data.list()) == [("trips", "3"), ("zones", "2024")]

    latest = ml_client.data.get("trips", label="latest")
    assert latest.version == "3"
    pd.testing.assert_frame_equal(pd.read_csv(latest.path), _frame(offset=2))
    pd.testing.assert_frame_equal(pd.read_csv(ml_client.data.get("trips", version="1").path), _frame())

    with pytest.raises(ValidationException, match=r"Must provide either version or label\."):
        ml_client.data.get("trips")
    with pytest.raises(ResourceNotFoundError, match="trips:9"):
        ml_client.data.get("trips", version="9")
    assert list(ml_client.data.list(name="unknown")) == []


def test_datastore_uri_source_is_a_reference(ml_client: LocalMLClient) -> None:
    # As on Azure: a path already in a datastore is registered as it is, not copied.
    long_form = (
        f"azureml://subscriptions/{ml_client.subscription_id}/resourcegroups/rg-taxi-dev/"
        "workspaces/mlw-taxi-dev/datastores/workspaceblobstore/paths/raw/trips.csv"
    )
    with fsspec.open(long_form, "w") as handle:
        _frame().to_csv(handle, index=False)
    short_form = "azureml://datastores/workspaceblobstore/paths/raw/trips.csv"
    asset = ml_client.data.create_or_update(_uri_file("raw-trips", short_form))
    assert asset.path == long_form  # returned in the long form, as Azure does
    pd.testing.assert_frame_equal(pd.read_csv(asset.path), _frame())
    # Same path, same version: the same asset. Another path under that version: refused.
    assert ml_client.data.create_or_update(_uri_file("raw-trips", short_form)).path == long_form
    with fsspec.open(long_form.replace("trips.csv", "other.csv"), "w") as handle:
        _frame().to_csv(handle, index=False)
    with pytest.raises(AssetPathException):
        ml_client.data.create_or_update(_uri_file("raw-trips", short_form.replace("trips", "other")))
    # Short paths name no workspace: reading them, like azureml-fsspec, needs the long form.
    with pytest.raises(ValueError, match="long form"):
        pd.read_csv(short_form)
    with pytest.raises(ValueError, match=r"'\.\.'"):
        pd.read_csv(long_form.replace("raw/trips.csv", "../../../escape.csv"))
    with pytest.raises(ValidationException, match="No such file"):
        ml_client.data.create_or_update(
            _uri_file("raw-trips", "azureml://datastores/workspaceblobstore/paths/raw/missing.csv", "2")
        )
    with pytest.raises(ResourceNotFoundError, match="nostore"):
        ml_client.data.create_or_update(
            _uri_file("raw-trips", "azureml://datastores/nostore/paths/a.csv", "2")
        )


def test_data_before_the_workspace_exists(home: Path, tmp_path: Path) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(ResourceNotFoundError, match=r"Create it first: ml_client\.workspaces\.begin_create"):
        client.data.create_or_update(_uri_file("trips", _csv(tmp_path / "trips.csv")))
    with pytest.raises(ResourceNotFoundError, match=r"Create it first: ml_client\.workspaces\.begin_create"):
        client.data.list()


# Datastores -------------------------------------------------------------------------------------


def _store_text(home: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())


def test_default_datastore(ml_client: LocalMLClient) -> None:
    default = ml_client.datastores.get_default()
    assert isinstance(default, AzureBlobDatastore)
    assert default.name == "workspaceblobstore"
    assert default.container_name == "azureml-blobstore-mlw-taxi-dev"
    assert default.id.endswith("/workspaces/mlw-taxi-dev/datastores/workspaceblobstore")
    assert [d.name for d in ml_client.datastores.list()] == ["workspaceblobstore"]
    with pytest.raises(ResourceNotFoundError, match="missing"):
        ml_client.datastores.get("missing")


def test_folder_backed_blob_datastore(ml_client: LocalMLClient, home: Path) -> None:
    key = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWJlLXN0b3JlZA=="
    created = ml_client.datastores.create_or_update(
        AzureBlobDatastore(
            name="landing",
            account_name="stlanding",
            container_name="landing",
            credentials=AccountKeyConfiguration(account_key=key),
            tags={"zone": "raw"},
        )
    )
    assert isinstance(created, AzureBlobDatastore)
    assert (created.name, created.container_name, created.tags) == ("landing", "landing", {"zone": "raw"})
    assert sorted(d.name for d in ml_client.datastores.list()) == ["landing", "workspaceblobstore"]
    assert ml_client.datastores.get_default().name == "workspaceblobstore"
    record = read_record(home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "datastores" / "landing.yaml")
    assert record["backing"]["kind"] == "folder"
    assert key not in _store_text(home)

    landing = (
        f"azureml://subscriptions/{ml_client.subscription_id}/resourcegroups/rg-taxi-dev/"
        "workspaces/mlw-taxi-dev/datastores/landing/paths/raw/trips.csv"
    )
    with fsspec.open(landing, "w") as handle:
        _frame().to_csv(handle, index=False)
    assert (
        home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "storage" / "landing" / "raw" / "trips.csv"
    ).is_file()
    asset = ml_client.data.create_or_update(
        Data(
            name="landing-raw",
            version="1",
            type=AssetTypes.URI_FOLDER,
            path="azureml://datastores/landing/paths/raw/",
        )
    )
    pd.testing.assert_frame_equal(pd.read_csv(asset.path + "trips.csv"), _frame())

    # Deleting unregisters the datastore; the files stay, as on Azure.
    ml_client.datastores.delete("landing")
    with pytest.raises(ResourceNotFoundError):
        ml_client.datastores.get("landing")
    assert (
        home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "storage" / "landing" / "raw" / "trips.csv"
    ).is_file()
    with pytest.raises(ResourceNotFoundError):
        ml_client.datastores.delete("landing")


def test_datastore_errors(ml_client: LocalMLClient) -> None:
    with pytest.raises(LocalBackendUnsupportedError, match="include_secrets"):
        ml_client.datastores.get("workspaceblobstore", include_secrets=True)
    with pytest.raises(LocalBackendUnsupportedError, match="include_secrets"):
        ml_client.datastores.get_default(include_secrets=True)
    with pytest.raises(LocalBackendUnsupportedError, match="include_secrets"):
        ml_client.datastores.list(include_secrets=True)
    with pytest.raises(HttpResponseError, match="default datastore"):
        ml_client.datastores.delete("workspaceblobstore")
    assert ml_client.datastores.get_default().name == "workspaceblobstore"
    with pytest.raises(ValidationException):
        ml_client.datastores.create_or_update(
            AzureBlobDatastore(name="Landing", account_name="stlanding", container_name="landing")
        )
    with pytest.raises(LocalBackendUnsupportedError, match="AzureFileDatastore"):
        ml_client.datastores.create_or_update(
            AzureFileDatastore(name="files", account_name="stfiles", file_share_name="share")
        )
    assert [d.name for d in ml_client.datastores.list()] == ["workspaceblobstore"]


@pytest.mark.azurite
def test_azurite_backed_datastore(
    ml_client: LocalMLClient, home: Path, azurite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adlfs import AzureBlobFileSystem

    settings = dict(part.split("=", 1) for part in azurite.split(";") if part)
    account_key = settings["AccountKey"]
    monkeypatch.setenv("ACCELERATOR_BLOB_CONNECTION_STRING", azurite)
    container = f"landing-{uuid.uuid4().hex[:12]}"
    created = ml_client.datastores.create_or_update(
        AzureBlobDatastore(
            name="landing",
            account_name="devstoreaccount1",
            container_name=container,
            credentials=AccountKeyConfiguration(account_key=account_key),
        )
    )
    assert created.container_name == container
    record = read_record(home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "datastores" / "landing.yaml")
    assert record["backing"] == {"kind": "blob", "container": container}

    blob = AzureBlobFileSystem(connection_string=azurite)
    assert blob.exists(container)  # created in Azurite when the datastore was registered
    with blob.open(f"{container}/raw/trips.csv", "wb") as handle:
        handle.write(_frame().to_csv(index=False).encode())

    asset = ml_client.data.create_or_update(
        _uri_file("blob-trips", "azureml://datastores/landing/paths/raw/trips.csv")
    )
    pd.testing.assert_frame_equal(pd.read_csv(asset.path), _frame())
    assert asset.path.endswith("/datastores/landing/paths/raw/trips.csv")
    # A datastore path is a reference, as on Azure: the asset reads what the blob holds now.
    with blob.open(f"{container}/raw/trips.csv", "wb") as handle:
        handle.write(_frame(offset=9).to_csv(index=False).encode())
    pd.testing.assert_frame_equal(pd.read_csv(asset.path), _frame(offset=9))
    # Written through azureml://, read through adlfs: the same blob.
    with fsspec.open(asset.path.replace("trips.csv", "more.csv"), "w") as handle:
        _frame(offset=3).to_csv(handle, index=False)
    with blob.open(f"{container}/raw/more.csv", "rb") as handle:
        pd.testing.assert_frame_equal(pd.read_csv(handle), _frame(offset=3))
    # Local files registered while the blob datastore exists still go to the default datastore.
    uploaded = ml_client.data.create_or_update(
        _uri_file("blob-trips", _csv(home.parent / "t.csv"), version=None)
    )
    assert uploaded.version == "2"
    assert "/datastores/workspaceblobstore/paths/LocalUpload/" in uploaded.path

    # No credential, neither the datastore's key nor the connection string, reaches the store.
    text = _store_text(home)
    assert account_key not in text
    assert "AccountKey" not in text

    # Without the connection string the datastore says what is missing.
    monkeypatch.delenv("ACCELERATOR_BLOB_CONNECTION_STRING")
    with pytest.raises(ValidationException, match="ACCELERATOR_BLOB_CONNECTION_STRING"):
        ml_client.data.create_or_update(
            _uri_file("blob-trips", "azureml://datastores/landing/paths/raw/trips.csv", version="3")
        )


# register_data ----------------------------------------------------------------------------------


def test_register_data_only_when_content_changes(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "trips.csv")
    first = register_data(
        ml_client, Data(name="trips", type=AssetTypes.URI_FILE, path=str(source), tags={"a": "b"})
    )
    assert first.version == "1"
    assert first.tags == {"a": "b", CONTENT_TAG: fingerprint(source.resolve().as_posix())}

    same = register_data(ml_client, Data(name="trips", type=AssetTypes.URI_FILE, path=str(source)))
    assert (same.version, same.path) == ("1", first.path)
    assert [d.version for d in ml_client.data.list(name="trips")] == ["1"]

    _csv(source, _frame(offset=7))
    second = register_data(ml_client, Data(name="trips", type=AssetTypes.URI_FILE, path=str(source)))
    assert second.version == "2"
    assert second.tags[CONTENT_TAG] != first.tags[CONTENT_TAG]
    pd.testing.assert_frame_equal(pd.read_csv(second.path), _frame(offset=7))

    # Landing the first content again finds version 1 rather than adding a third.
    _csv(source)
    assert (
        register_data(ml_client, Data(name="trips", type=AssetTypes.URI_FILE, path=str(source))).version
        == "1"
    )
    assert [d.version for d in ml_client.data.list(name="trips")] == ["1", "2"]

    with pytest.raises(FileNotFoundError, match=r"missing\.csv"):
        register_data(
            ml_client, Data(name="trips", type=AssetTypes.URI_FILE, path=str(tmp_path / "missing.csv"))
        )


# The store --------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_interrupted_write_keeps_the_old_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    folder = tmp_path / "records"
    path = folder / "1.yaml"
    write_record(path, {"version": "1", "content": "old"})

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk went away")

    with monkeypatch.context() as patch:
        patch.setattr(_store.os, failing, crash)
        with pytest.raises(OSError, match="disk went away"):
            write_record(path, {"version": "1", "content": "new" * 1000})

    assert read_record(path) == {"version": "1", "content": "old"}
    assert [p.name for p in folder.iterdir()] == ["1.yaml"]  # the temporary file was removed
    assert list(records(folder)) == [path]


def test_interrupted_registration_leaves_nothing_registered(
    ml_client: LocalMLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def crash_on_records(source: object, target: object) -> None:
        if str(target).endswith(".yaml"):
            raise KeyboardInterrupt
        real_replace(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(_store.os, "replace", crash_on_records)
        with pytest.raises(KeyboardInterrupt):
            ml_client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    assert list(ml_client.environments.list()) == []
    with pytest.raises(ResourceNotFoundError):
        ml_client.environments.get("taxi-train", version="1")
    # The retry works.
    assert ml_client.environments.create_or_update(Environment(name="taxi-train", image=IMAGE)).version == "1"


def test_stray_temporary_files_are_ignored(ml_client: LocalMLClient, tmp_path: Path) -> None:
    asset = ml_client.data.create_or_update(_uri_file("trips", _csv(tmp_path / "trips.csv")))
    folder = ml_client.home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "data" / "trips"
    # What a process killed mid-write leaves behind: half a record under a hidden temporary name.
    (folder / ".2.yaml.tmp").write_text("name: trips\nversion: '2'\nentity: {type: uri_fi")
    (folder / ".2.yaml.k3j9x.tmp").write_text("")
    (folder / ".3.yaml").write_text("garbage: [")
    assert list(records(folder)) == [folder / "1.yaml"]
    assert [d.version for d in ml_client.data.list(name="trips")] == ["1"]
    assert ml_client.data.get("trips", label="latest").path == asset.path
    # A folder holding only temporary files is no asset.
    (folder.parent / "ghost").mkdir()
    (folder.parent / "ghost" / ".1.yaml.tmp").write_text("")
    assert [d.name for d in ml_client.data.list()] == ["trips"]
    stray = ml_client.home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "datastores" / ".x.yaml.tmp"
    stray.write_text("")
    assert [d.name for d in ml_client.datastores.list()] == ["workspaceblobstore"]


def test_damaged_record_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "1.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="damaged"):
        read_record(path)


# Workspace validation and prerequisites ---------------------------------------------------------


CHECKS = [
    "workspace reachable",
    "default datastore",
    "datastore writable",
    "datastore readable",
    "compute cluster",
    "training environment",
]


def _set_up(ml_client: LocalMLClient) -> None:
    ml_client.compute.begin_create_or_update(
        AmlCompute(name="cpu-cluster", size="Standard_DS3_v2", min_instances=0, max_instances=2)
    ).result()
    ml_client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))


def test_validate_workspace_passes_when_set_up(ml_client: LocalMLClient) -> None:
    _set_up(ml_client)
    rows = validate_workspace(
        ml_client, compute_name="cpu-cluster", environment_name="taxi-train", environment_version="1"
    )
    assert [r["check"] for r in rows] == CHECKS
    failed = {r["check"]: r["detail"] for r in rows if not r["passed"]}
    assert failed == {}
    assert all(r["workspace"] == "mlw-taxi-dev" for r in rows)
    details = {r["check"]: r["detail"] for r in rows}
    assert details["workspace reachable"] == "in westeurope"
    assert details["default datastore"] == "workspaceblobstore"
    assert "Standard_DS3_v2" in details["compute cluster"]
    assert details["training environment"].startswith("taxi-train:1 on ")


def test_validate_workspace_reports_a_missing_compute(ml_client: LocalMLClient) -> None:
    _set_up(ml_client)
    rows = validate_workspace(
        ml_client, compute_name="gpu-cluster", environment_name="taxi-train", environment_version="1"
    )
    result = {r["check"]: (r["passed"], r["detail"]) for r in rows}
    passed, detail = result.pop("compute cluster")
    assert not passed
    assert "ResourceNotFoundError" in detail
    assert "gpu-cluster" in detail
    assert all(ok for ok, _ in result.values()), result


def test_validate_workspace_never_raises_without_a_workspace(home: Path) -> None:
    client = connect("dev", backend="local")
    rows = validate_workspace(
        client, compute_name="cpu-cluster", environment_name="e", environment_version="1"
    )
    assert [r["check"] for r in rows] == CHECKS
    assert not any(r["passed"] for r in rows)
    assert "Create it first: ml_client.workspaces.begin_create" in rows[0]["detail"]
    assert "nothing to read" in rows[3]["detail"]


def test_require_names_the_notebook(ml_client: LocalMLClient) -> None:
    with pytest.raises(PrerequisiteError) as caught:
        require(
            lambda: ml_client.compute.get("cpu-cluster"),
            notebook="06_connect_and_validate.ipynb",
            what="The compute cluster cpu-cluster",
        )
    # The notebook to run, then the lookup's own words: the SDK call that creates the cluster.
    assert str(caught.value) == (
        "The compute cluster cpu-cluster is missing: run 06_connect_and_validate.ipynb first. "
        "((UserError) Compute 'cpu-cluster' was not found in workspace 'mlw-taxi-dev'. Create it first: "
        "ml_client.compute.begin_create_or_update(AmlCompute(name='cpu-cluster')).)"
    )
    with pytest.raises(PrerequisiteError, match=r"run 07\.ipynb first\. \(\(UserError\) Compute 'gpu'"):
        require(ml_client.compute.get, "gpu", notebook="07.ipynb", what="The cluster")
    _set_up(ml_client)
    found = require(lambda: ml_client.compute.get("cpu-cluster"), notebook="06.ipynb", what="cluster")
    assert found.name == "cpu-cluster"


def test_require_lets_other_errors_through(ml_client: LocalMLClient) -> None:
    with pytest.raises(ValidationException):
        require(lambda: ml_client.environments.get("taxi-train"), notebook="x.ipynb", what="env")


def test_register_data_treats_not_found_on_list_as_no_versions(
    ml_client: LocalMLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Azure may answer 404 when listing the versions of a name that has none yet.
    from azure.core.exceptions import ResourceNotFoundError

    def not_found(*args: object, **kwargs: object) -> None:
        raise ResourceNotFoundError("(UserError) Not found")

    monkeypatch.setattr(ml_client.data, "list", not_found)
    source = _csv(tmp_path / "trips.csv")
    created = register_data(ml_client, Data(name="fresh", type=AssetTypes.URI_FILE, path=str(source)))
    assert created.version == "1"


def test_version_with_content_finds_the_version_or_none(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "trips.csv")
    assert version_with_content(ml_client, "trips", source) == (
        None,
        fingerprint(source.resolve().as_posix()),
    )
    first = register_data(ml_client, Data(name="trips", type=AssetTypes.URI_FILE, path=str(source)))
    found, content = version_with_content(ml_client, "trips", source)
    assert (found.version, content) == (first.version, first.tags[CONTENT_TAG])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        version_with_content(ml_client, "trips", tmp_path / "gone.csv")

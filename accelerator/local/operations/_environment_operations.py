"""``ml_client.environments`` on the local backend.

The environment's image and conda file are recorded as given. Local jobs run in this machine's
Python, so the image is not pulled; what they need must be installed here (requirements.txt), and
a job whose environment declares a package this Python lacks is refused at submission
(``_environment_packages``). An unnamed inline environment is the SDK's anonymous one.
"""

from __future__ import annotations

import re
from typing import Any

from azure.ai.ml import load_environment
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.constants._common import ANONYMOUS_ENV_NAME
from azure.ai.ml.entities import Environment
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._exceptions import LocalBackendUnsupportedError, conflict, user_error, validation_error
from accelerator.local._store import plain
from accelerator.local._validation import check_name, to_rest
from accelerator.local.operations._asset_operations import VersionedAssetOperations

_ANONYMOUS_VERSION = re.compile(r"^[0-9a-f]{64}$")
_CONTENT = ("image", "conda_file", "build", "inference_config", "os_type")


class EnvironmentOperations(VersionedAssetOperations):
    _sdk_class = sdk_operations.EnvironmentOperations
    _group = "environments"
    _folder = "environments"
    _kind = "Environment"
    _target = ErrorTarget.ENVIRONMENT
    _loader = staticmethod(load_environment)

    def create_or_update(self, environment: Environment) -> Environment:
        if not isinstance(environment, Environment):
            raise TypeError(
                f"environment must be an azure.ai.ml.entities.Environment, not {type(environment)}"
            )
        if environment.build is not None:
            raise LocalBackendUnsupportedError(
                "environments built from a Docker build context",
                "Give the environment an image and a conda_file instead.",
            )
        check_name("asset", environment.name, self._target)
        _check_conda(environment.conda_file)
        with self._records.lock(environment.name):
            if _anonymous(environment):
                # The SDK names an unnamed inline environment CliV2AnonymousEnvironment, versioned by
                # the sha256 of its image and conda file (Environment._generate_anonymous_name_version):
                # Azure ML registers it under that 64-character version, longer than a named one's.
                version = str(environment.version)
            else:
                version = self._resolve_version(environment.name, environment.version)
            environment.version = version
            to_rest(environment)
            entity = plain(environment._to_dict())
            existing = self._records.get(environment.name, version)
            if existing is not None:
                before = {k: existing["entity"].get(k) for k in _CONTENT}
                after = {k: entity.get(k) for k in _CONTENT}
                if before != after:
                    raise conflict(
                        f"Environment {environment.name}:{version} already exists with a different "
                        "definition, and environment versions are immutable. Register a new version."
                    )
            self._records.put(environment.name, version, entity)
        return self.get(environment.name, version)

    def share(
        self, name: str, version: str, *, share_with_name: str, share_with_version: str, registry_name: str
    ) -> Environment:
        """Copy an environment version into a registry, as the SDK's ``EnvironmentOperations.share``.

        The definition (image, conda file) is copied with its tags and the source's asset id; a name
        and version the registry already has are refused with the SDK's message.
        """
        from accelerator.local.operations import _sharing

        self.get(name, version)  # the not-found error first
        record = self._records.get(name, str(version))
        assert record is not None
        shared = _sharing.reference(
            self._scope, "environments", name, str(version), share_with_name, share_with_version
        )
        registry = EnvironmentOperations(_sharing.registry_scope(self._scope, registry_name))
        entity = dict(record["entity"], name=shared.name, version=shared.version)
        with registry._records.lock(shared.name):
            if registry._records.get(shared.name, shared.version) is not None:
                raise validation_error(
                    "A environment with this name and version already exists in registry", self._target
                )
            # The environment YAML has no properties: the source is kept beside the entity.
            registry._records.put(shared.name, shared.version, entity, source_asset_id=shared.asset_id)
        return registry.get(shared.name, shared.version)


def _anonymous(environment: Environment) -> bool:
    """An inline environment the SDK named and versioned itself (or one got back from the store)."""
    return environment.name == ANONYMOUS_ENV_NAME and bool(
        _ANONYMOUS_VERSION.match(str(environment.version or ""))
    )


def _check_conda(conda: Any) -> None:
    """A conda file is a conda environment specification: a mapping whose ``dependencies`` list
    holds package specs and at most a ``pip`` list, as conda (and Azure ML's image build) reads it.
    Anything else is refused before it is written, as the build would fail on Azure."""
    if conda is None:
        return
    problem = None
    if not isinstance(conda, dict):
        problem = f"it is a {type(conda).__name__}, not a mapping with 'dependencies'"
    else:
        unknown = sorted(set(conda) - {"name", "channels", "dependencies", "prefix", "variables"})
        dependencies = conda.get("dependencies", [])
        if unknown:
            problem = f"unknown keys {', '.join(map(str, unknown))}"
        elif not isinstance(conda.get("channels", []), list):
            problem = "'channels' is not a list"
        elif not isinstance(dependencies, list):
            problem = "'dependencies' is not a list"
        else:
            for entry in dependencies:
                pip = entry.get("pip") if isinstance(entry, dict) and set(entry) == {"pip"} else None
                if isinstance(entry, str) or (isinstance(pip, list) and all(isinstance(p, str) for p in pip)):
                    continue
                problem = f"dependency {entry!r} is neither a package spec nor a 'pip' list"
                break
    if problem:
        raise user_error(
            f"The environment's conda_file is not a conda environment specification: {problem}.",
            ErrorTarget.ENVIRONMENT,
        )

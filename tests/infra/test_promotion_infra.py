"""The registry promotion goes through, and week 12's retraining route on Azure (infra/registry.tf,
infra/retraining.tf): who may write and who may only read the shared registry, and the Event Grid
subscription that takes a monitor's breach to the retraining function. Each rule is a check that
reports problems, run on the real files and on broken copies.

The files are read with python-hcl2 from checkov's own environment (.venv-checkov), the parser
checkov scans them with; terraform itself cannot plan them here (no provider download)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from accelerator import naming

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
CHECKOV_PYTHON = REPO / ".venv-checkov" / "bin" / "python"
FUNCTION_APP = REPO / "notebooks" / "workloads" / "taxi_fare" / "retrain" / "function_app.py"
RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
# The documented filter (how-to-monitor-model-performance, "Integrate ... with Azure Event Grid").
BREACH_KEY = "data.RunTags.azureml_modelmonitor_threshold_breached"
BREACH_MESSAGE = "has failed due to one or more features violating metric thresholds"
READ_ONLY = re.compile(r"^Microsoft\.MachineLearningServices/registries(/assets)?/read$")


def parse(files: list[Path]) -> dict:
    """resource type -> name -> attributes, and the locals, of the given .tf files."""
    if not CHECKOV_PYTHON.exists():
        pytest.fail("checkov's environment is missing: run `make checkov` (make test does).")
    script = (
        "import hcl2, json, sys\n"
        "out = {'resource': {}, 'data': {}, 'locals': {}}\n"
        "for name in sys.argv[1:]:\n"
        "    doc = hcl2.load(open(name))\n"
        "    for kind in ('resource', 'data'):\n"
        "        for block in doc.get(kind, []):\n"
        "            for rtype, named in block.items():\n"
        "                out[kind].setdefault(rtype, {}).update(named)\n"
        "    for block in doc.get('locals', []):\n"
        "        out['locals'].update(block)\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [str(CHECKOV_PYTHON), "-c", script, *map(str, files)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def one(value):
    """hcl2 wraps every attribute in a list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def resolve(text: str, local: dict) -> str:
    """`${local.x}` replaced by the local's literal value, where it has one."""
    return re.sub(r"\$\{local\.(\w+)\}", lambda m: str(one(local.get(m.group(1), [m.group(0)]))), text)


def registry_problems(tf: dict) -> list[str]:
    resources, local = tf["resource"], tf["locals"]
    problems = []
    registry = resources.get("azapi_resource", {}).get("registry")
    if registry is None:
        return ["no azapi_resource.registry"]
    if not str(one(registry["type"])).startswith("Microsoft.MachineLearningServices/registries@"):
        problems.append(f"azapi_resource.registry is a {one(registry['type'])}, not an Azure ML registry")
    if one(local.get("registry_name")) != "mlr-${var.project}" or naming.registry_name("taxi") != "mlr-taxi":
        problems.append("the registry is not named mlr-<project> (accelerator.naming.registry_name)")
    if one(local.get("registry_home")) != '${var.environment == "dev"}' or "registry_home" not in str(
        registry.get("count")
    ):
        problems.append("the registry is not created by dev's state only")
    writer = resources.get("azurerm_role_assignment", {}).get("registry_writer", {})
    if (
        one(writer.get("role_definition_name")) != "AzureML Registry User"
        or one(writer.get("principal_id")) != '${var.principal_ids["pipeline"]}'
        or "registry_home" not in str(writer.get("count"))
    ):
        problems.append("dev's pipeline identity does not write to the registry (AzureML Registry User)")
    definition = resources.get("azurerm_role_definition", {}).get("registry_reader", {})
    actions = [a for p in definition.get("permissions", []) for a in one(p.get("actions", [[]]))]
    if not actions or not all(READ_ONLY.match(action) for action in actions):
        problems.append(f"the registry reader role is not read-only: {actions}")
    if one(definition.get("assignable_scopes")) != ["${azapi_resource.registry[0].id}"]:
        problems.append("the registry reader role can be assigned beyond the registry")
    readers = str(one(local.get("registry_readers", [""])))
    reader = resources.get("azurerm_role_assignment", {}).get("registry_reader", {})
    if not (
        "registry_home ? {} :" in readers
        and "'pipeline'" in readers
        and "'endpoints'" in readers
        and one(reader.get("for_each")) == "${local.registry_readers}"
        and "registry_reader[0].role_definition_resource_id" in str(reader.get("role_definition_id"))
    ):
        problems.append("test's and prod's pipeline and endpoint identities do not read the registry")
    # Only dev's identity writes to the registry (model-cd.yml shares in its dev job); test's and
    # prod's pipeline identity reads dev's evidence with read-only roles, in their states only.
    assignments = resources.get("azurerm_role_assignment", {})
    writer_role = "AzureML Registry User"
    writers = [name for name, a in assignments.items() if one(a.get("role_definition_name")) == writer_role]
    if writers != ["registry_writer"]:
        problems.append(f"the registry is written by more than dev's pipeline identity: {writers}")
    dev_readers = str(one(local.get("dev_readers", [""])))
    roles = re.findall(r"'([^']+)'", dev_readers.split(":", 1)[-1].split(":", 1)[0])
    dev_reader = assignments.get("dev_reader", {})
    if not (
        dev_readers.startswith("${local.registry_home ||")
        and roles == ["Reader", "Storage Blob Data Reader"]
        and one(dev_reader.get("for_each")) == "${local.dev_readers}"
        and one(dev_reader.get("scope")) == "${local.dev_resource_group_id}"
    ):
        problems.append(f"test's and prod's pipeline identity does not only read dev: roles {roles}")
    return problems


def retraining_problems(tf: dict, function_app_source: str) -> list[str]:
    resources, local = tf["resource"], tf["locals"]
    problems = []
    if one(local.get("retraining")) != "${local.is_prod}":
        problems.append("the retraining route is not prod's")
    subscription = resources.get("azurerm_eventgrid_system_topic_event_subscription", {}).get(
        "retrain_on_breach"
    )
    topic = resources.get("azurerm_eventgrid_system_topic", {}).get("workspace", {})
    if one(
        topic.get("topic_type")
    ) != "Microsoft.MachineLearningServices.Workspaces" or "workspace_id" not in str(
        topic.get("source_resource_id")
    ):
        problems.append("the system topic is not the workspace's")
    if subscription is None:
        return [*problems, "no event subscription retrain_on_breach"]
    if one(subscription.get("included_event_types")) != [RUN_STATUS_CHANGED]:
        problems.append(f"the subscription does not take exactly {RUN_STATUS_CHANGED}")
    filters = [
        (resolve(one(f["key"]), local), [resolve(v, local) for v in one(f["values"])])
        for block in subscription.get("advanced_filter", [])
        for f in block.get("string_contains", [])
    ]
    if filters != [(BREACH_KEY, [BREACH_MESSAGE])]:
        problems.append(f"the subscription is not filtered on the monitor's breach tag: {filters}")
    endpoint = one(subscription.get("azure_function_endpoint", [{}]))
    function_id = resolve(str(one(endpoint.get("function_id", [""]))), local)
    match = re.search(r"/functions/([\w-]+)$", function_id)
    if not match or f'@app.function_name("{match.group(1)}")' not in function_app_source:
        problems.append(f"the subscription delivers to {function_id!r}, not a function of function_app.py")
    app = resources.get("azurerm_function_app_flex_consumption", {}).get("retraining", {})
    if one(app.get("storage_authentication_type")) != "SystemAssignedIdentity" or "storage_access_key" in app:
        problems.append("the function reaches its storage with a key, not its identity")
    if one(app.get("https_only")) is not True:
        problems.append("the function app accepts plain HTTP")
    settings = one(app.get("app_settings", [{}]))
    if any("connection" in str(v).lower() or "key" in str(v).lower() for v in settings.values()):
        problems.append("an app setting holds a connection string or key")
    if set(settings) < {"AZUREML_SUBSCRIPTION_ID", "AZUREML_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"}:
        problems.append("the function is not told which workspace to retrain in")
    grant = resources.get("azurerm_role_assignment", {}).get("retraining_workspace", {})
    if one(
        grant.get("role_definition_name")
    ) != "AzureML Data Scientist" or "retraining[0].identity[0]" not in str(grant.get("principal_id")):
        problems.append("the function's identity cannot submit the training pipeline")
    return problems


@pytest.fixture(scope="module")
def tf() -> dict:
    return parse([INFRA / "registry.tf", INFRA / "retraining.tf", INFRA / "main.tf"])


def test_registry_follows_every_rule(tf):
    assert registry_problems(tf) == []


def test_retraining_route_follows_every_rule(tf):
    assert retraining_problems(tf, FUNCTION_APP.read_text()) == []


def broken(tf: dict, how: str) -> dict:
    tf = copy.deepcopy(tf)
    resources = tf["resource"]
    if how == "writer role for readers":
        resources["azurerm_role_definition"]["registry_reader"]["permissions"][0]["actions"] = [
            ["Microsoft.MachineLearningServices/registries/assets/*"]
        ]
    elif how == "no endpoint reader":
        tf["locals"]["registry_readers"] = ["${local.registry_home ? {} : {'pipeline': 'x'}}"]
    elif how == "registry in every state":
        resources["azapi_resource"]["registry"].pop("count")
    elif how == "dev reads only":
        resources["azurerm_role_assignment"]["registry_writer"]["role_definition_name"] = ["Reader"]
    elif how == "test writes to dev":
        tf["locals"]["dev_readers"] = [
            tf["locals"]["dev_readers"][0].replace("'Storage Blob Data Reader'", "'Contributor'")
        ]
    elif how == "test shares":
        resources["azurerm_role_assignment"]["registry_test_writer"] = {
            "role_definition_name": ["AzureML Registry User"],
            "scope": ["${local.registry_id}"],
        }
    elif how == "another event":
        subscription = resources["azurerm_eventgrid_system_topic_event_subscription"]["retrain_on_breach"]
        subscription["included_event_types"] = [["Microsoft.MachineLearningServices.RunCompleted"]]
    elif how == "no filter":
        resources["azurerm_eventgrid_system_topic_event_subscription"]["retrain_on_breach"].pop(
            "advanced_filter"
        )
    elif how == "unknown function":
        tf["locals"]["retraining_function"] = ["retrain"]
    elif how == "storage key":
        app = resources["azurerm_function_app_flex_consumption"]["retraining"]
        app["storage_authentication_type"] = ["StorageAccountConnectionString"]
        app["storage_access_key"] = ["${azurerm_storage_account.retraining[0].primary_access_key}"]
    return tf


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("writer role for readers", "the registry reader role is not read-only"),
        ("no endpoint reader", "endpoint identities do not read the registry"),
        ("registry in every state", "not created by dev's state only"),
        ("dev reads only", "dev's pipeline identity does not write"),
        ("test writes to dev", "does not only read dev: roles ['Reader', 'Contributor']"),
        ("test shares", "written by more than dev's pipeline identity"),
    ],
)
def test_registry_checks_catch_a_broken_copy(tf, how, problem):
    problems = registry_problems(broken(tf, how))
    assert any(problem in line for line in problems), problems


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("another event", f"does not take exactly {RUN_STATUS_CHANGED}"),
        ("no filter", "not filtered on the monitor's breach tag"),
        ("unknown function", "not a function of function_app.py"),
        ("storage key", "with a key, not its identity"),
    ],
)
def test_retraining_checks_catch_a_broken_copy(tf, how, problem):
    problems = retraining_problems(broken(tf, how), FUNCTION_APP.read_text())
    assert any(problem in line for line in problems), problems


def test_the_function_package_is_reproducible_and_complete(tmp_path):
    """What infra/retraining.tf deploys: the app's files at the root, the handler's imports beside,
    the same bytes from the same files (the plan and the apply build it separately)."""
    command = [str(REPO / ".venv" / "bin" / "python"), str(REPO / "tools" / "retrain_function.py")]
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for out in (first, second):
        subprocess.run([*command, "--out", str(out)], check=True, capture_output=True, text=True)
    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(names)
    assert "workloads/taxi_fare/retrain/function_app.py" in names and "accelerator/__init__.py" in names
    assert not [name for name in names if "__pycache__" in name or "/tests/" in name]
    host = json.loads(zipfile.ZipFile(first).read("host.json"))
    assert host["version"] == "2.0" and "ExtensionBundle" in host["extensionBundle"]["id"]


@pytest.mark.parametrize(
    ("setting", "weakened", "check"),
    [
        (
            "  shared_access_key_enabled         = false",
            "  shared_access_key_enabled         = true",
            "CKV2_AZURE_40",
        ),
        (
            '  min_tls_version                   = "TLS1_2"',
            '  min_tls_version                   = "TLS1_0"',
            "CKV_AZURE_44",
        ),
    ],
)
def test_weakening_the_function_storage_fails_the_scan(checkov_gate, tmp_path, setting, weakened, check):
    """prod's scan covers the retraining route: its storage with shared keys or old TLS fails it."""
    infra = tmp_path / "infra"
    shutil.copytree(INFRA, infra, ignore=shutil.ignore_patterns(".terraform*", "*.tfplan", ".build"))
    retraining = infra / "retraining.tf"
    text = retraining.read_text()
    assert text.count(setting) == 1, setting
    retraining.write_text(text.replace(setting, weakened))
    result = checkov_gate(infra, "prod")
    assert result.returncode != 0, result.stdout[-3000:]
    assert f"Check: {check}:" in result.stdout
    assert "FAILED for resource: azurerm_storage_account.retraining" in result.stdout

"""The Terraform variables generated from the solution design, and the write-tfvars command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from design_inputs import DESIGN, copy_design, edit

from accelerator import design
from accelerator.design.__main__ import main

KEYS = {
    "environment",
    "project",
    "location",
    "resource_group_name",
    "workspace_name",
    "public_network_access_enabled",
    "private_networking",
    "compute_cluster",
    "role_assignments",
    "tags",
}


@pytest.fixture(scope="module")
def solution():
    return design.assemble(design.load_inputs(DESIGN))


def test_exactly_the_contracted_keys_per_environment(solution):
    variables = design.terraform_variables(solution)
    assert list(variables) == ["dev", "test", "prod"]
    for env, values in variables.items():
        assert set(values) == KEYS, env
        assert set(values["compute_cluster"]) == {
            "name",
            "vm_size",
            "min_nodes",
            "max_nodes",
            "idle_seconds_before_scaledown",
        }
        assert values["compute_cluster"]["min_nodes"] == 0
        assert all(isinstance(v, str) for v in values["tags"].values())
        assert all(roles and len(set(roles)) == len(roles) for roles in values["role_assignments"].values())


def test_the_values_of_the_committed_design(solution):
    dev, prod = design.terraform_variables(solution)["dev"], design.terraform_variables(solution)["prod"]
    assert {k: dev[k] for k in KEYS - {"compute_cluster", "role_assignments", "tags"}} == {
        "environment": "dev",
        "project": "taxi",
        "location": "westeurope",
        "resource_group_name": "rg-taxi-dev",
        "workspace_name": "mlw-taxi-dev",
        "public_network_access_enabled": True,
        "private_networking": False,
    }
    assert (prod["private_networking"], prod["public_network_access_enabled"]) == (True, False)
    test = design.terraform_variables(solution)["test"]
    assert (test["private_networking"], test["public_network_access_enabled"]) == (True, True)
    assert prod["compute_cluster"] == {
        "name": "cpu-cluster",
        "vm_size": "Standard_DS3_v2",
        "min_nodes": 0,
        "max_nodes": 4,
        "idle_seconds_before_scaledown": 300,
    }
    storage = ["Storage Blob Data Contributor", "Storage File Data Privileged Contributor"]
    assert dev["role_assignments"] == {
        "data_scientists": ["AzureML Data Scientist", *storage],
        "ml_engineers": ["AzureML Data Scientist", "AzureML Compute Operator", *storage],
        "platform_engineers": ["Contributor"],
        "leads": ["Reader"],
        "pipeline": ["AzureML Data Scientist", "Storage Blob Data Contributor"],
    }
    # Built-in roles only: the custom role is in the design's definitions, not in the variables.
    assert prod["role_assignments"]["ml_engineers"] == ["Reader"]
    assert prod["tags"]["environment"] == "prod"
    assert prod["tags"]["data-classification"] == "confidential"
    assert prod["tags"]["managed-by"] == "mlops-accelerator"


def test_a_two_environment_design(tmp_path):
    folder = copy_design(tmp_path)
    edit(folder, "maturity.yaml", "target_level: 3", "target_level: 2")
    variables = design.terraform_variables(design.assemble(design.load_inputs(folder)))
    assert list(variables) == ["dev", "prod"]
    assert variables["prod"]["workspace_name"] == "mlw-taxi-prod"


def test_write_tfvars_writes_sorted_indented_files_with_a_final_newline(tmp_path, capsys, solution):
    out = tmp_path / "infra" / "environments"
    assert main(["write-tfvars", "--design", str(DESIGN), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "dev.tfvars.json",
        "prod.tfvars.json",
        "test.tfvars.json",
    ]
    text = (out / "test.tfvars.json").read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "compute_cluster": {\n    "idle_seconds_before_scaledown": 300,')
    assert json.loads(text) == design.terraform_variables(solution)["test"]
    assert list(json.loads(text)) == sorted(KEYS)
    assert f"wrote {out / 'dev.tfvars.json'}" in capsys.readouterr().out


def test_check_passes_when_the_files_match_and_names_the_files_that_differ(tmp_path, capsys):
    out = tmp_path / "environments"
    args = ["write-tfvars", "--design", str(DESIGN), "--out", str(out)]
    main(args)
    capsys.readouterr()
    assert main([*args, "--check"]) == 0
    assert "the tfvars files match the design" in capsys.readouterr().out

    (out / "prod.tfvars.json").write_text(
        (out / "prod.tfvars.json").read_text().replace('"max_nodes": 4', '"max_nodes": 9')
    )
    (out / "test.tfvars.json").unlink()
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{out / 'prod.tfvars.json'}: differs from the design" in err
    assert f"{out / 'test.tfvars.json'}: missing" in err
    assert f"{out / 'dev.tfvars.json'}" not in err
    assert "Regenerate them: python -m accelerator.design write-tfvars" in err


def test_check_reports_environments_the_topology_no_longer_has(tmp_path, capsys):
    out = tmp_path / "environments"
    main(["write-tfvars", "--design", str(DESIGN), "--out", str(out)])
    folder = copy_design(tmp_path)
    edit(folder, "maturity.yaml", "target_level: 3", "target_level: 2")
    capsys.readouterr()
    assert main(["write-tfvars", "--design", str(folder), "--out", str(out), "--check"]) == 1
    assert f"{out / 'test.tfvars.json'}: test is not in the design's topology" in capsys.readouterr().err
    (out / "notes.json").write_text("{}")  # files of other names are not the design's business
    main(["write-tfvars", "--design", str(folder), "--out", str(out)])
    (out / "test.tfvars.json").unlink()
    assert main(["write-tfvars", "--design", str(folder), "--out", str(out), "--check"]) == 0


def test_an_invalid_design_writes_nothing_and_lists_its_problems(tmp_path, capsys):
    folder = copy_design(tmp_path)
    edit(folder, "environments.yaml", "  prod:\n    owner: project_lead\n", "  prod:\n")
    out = tmp_path / "environments"
    assert main(["write-tfvars", "--design", str(folder), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "The design has 1 problem:" in err
    assert "design/environments.yaml:" in err and "environments.prod.owner: no owner" in err
    assert main(["write-tfvars", "--design", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "no design folder or solution design file there" in capsys.readouterr().err


def test_a_solution_design_file_from_week_4(tmp_path, capsys):
    inputs = design.load_inputs(DESIGN)
    kickoff = design.decide_kickoff(inputs)
    delivery = design.decide_delivery(inputs, kickoff)
    architecture = design.decide_architecture(inputs, kickoff, delivery, environments="dev,prod")
    store = design.DesignStore(tmp_path / "home")
    path = store.save(design.decide_solution(inputs, kickoff, delivery, architecture))
    out = tmp_path / "environments"
    assert main(["write-tfvars", "--design", str(path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["dev.tfvars.json", "prod.tfvars.json"]
    capsys.readouterr()
    assert main(["validate", "--design", str(path)]) == 0
    assert "valid; topology dev, prod in westeurope, named 'taxi'" in capsys.readouterr().out


def test_the_command_runs_as_a_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "accelerator.design", "validate", "--design", str(DESIGN)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "valid; topology dev, test, prod in westeurope, named 'taxi'" in result.stdout


def test_the_stored_solution_design_reads_back_equal(tmp_path, solution):
    store = design.DesignStore(tmp_path)
    path = store.save(solution)
    assert path == tmp_path / "design" / "solution.yaml"
    assert design.SolutionDesign.model_validate(yaml.safe_load(path.read_text())) == solution

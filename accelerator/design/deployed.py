"""What the Deploy stage builds: the solution design's topology and clusters, or the book's defaults.

Weeks 5 and 6 take their project, environments, region and compute clusters from the solution
design week 4 recorded in this machine's store; a notebook parameter that is set wins over it.
Without a design (weeks 1-4 not run here) the book's defaults apply, and the notebook says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accelerator import naming
from accelerator.design.compute import Cluster
from accelerator.design.records import SolutionDesign
from accelerator.design.store import DesignStore

DEFAULT_LOCATION = "westeurope"
DEFAULT_VM_SIZE = "Standard_DS3_v2"
# The book's clusters without a design: cheap low-priority nodes in dev, dedicated ones after it.
_DEFAULT_NODES = {"dev": (2, "low_priority"), "test": (2, "dedicated"), "prod": (4, "dedicated")}


@dataclass(frozen=True)
class DeployedTopology:
    project: str
    environments: list[str]
    location: str
    clusters: dict[str, Cluster]
    source: str  # where the values came from, in words for the notebook


def deployed_topology(
    project: str | None = None,
    environments: str | list[str] | None = None,
    location: str | None = None,
    *,
    compute_name: str = "cpu-cluster",
    with_location: bool = True,
    home: str | Path | None = None,
) -> DeployedTopology:
    """The topology to deploy: the given values, the rest from the solution design or the defaults.

    The design is read only when something is left to it (the location too, unless the caller has
    no use for it: ``with_location=False``), so explicit parameters work whatever the store holds.
    """
    missing = project is None or not environments or (with_location and location is None)
    solution = DesignStore(home).find(SolutionDesign) if missing else None
    designed = (naming.DEFAULT_PROJECT, list(naming.ENVIRONMENTS), DEFAULT_LOCATION)
    if not missing:
        source = "As the parameters say."
    elif solution is None:
        source = "No solution design from week 4 here: the book's defaults."
    else:
        source = "From the solution design of week 4."
        designed = (solution.project, solution.environment_names, solution.location)
    chosen = naming.check_environments(environments or designed[1])
    clusters = {}
    for environment in chosen:
        if solution is not None and environment in solution.environment_names:
            cluster = solution.environment(environment).cluster.model_copy(update={"name": compute_name})
        else:
            nodes, tier = _DEFAULT_NODES[environment]
            cluster = Cluster(
                name=compute_name,
                vm_size=DEFAULT_VM_SIZE,
                tier=tier,
                max_nodes=nodes,
                idle_seconds_before_scaledown=900,
            )
        clusters[environment] = cluster
    return DeployedTopology(
        project=naming.project_name(project or designed[0]),
        environments=chosen,
        location=location or designed[2],
        clusters=clusters,
        source=source,
    )

"""The compute selection guide (design/compute.yaml): a workload's needs -> VM size and cluster sizes.

The guide picks a VM family from the kind of model and whether it needs GPUs, then the cheapest size
in that family that holds the data in memory within the budget's price per node-hour, then how far
each environment's cluster may scale and how soon it scales back to zero.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files
from typing import Literal, get_args

from pydantic import Field

from accelerator.design._types import Model, RoleKey, Text

Family = Literal["general_purpose", "memory_optimised", "compute_optimised", "gpu"]
ModelFamily = Literal["classical", "gradient_boosting", "deep_learning", "fine_tuning"]
Budget = Literal["low", "medium", "high"]

# The most one node-hour may cost, per budget (USD, or the price table's currency).
BUDGET_PRICE_LIMIT: dict[str, float | None] = {"low": 0.6, "medium": 3.0, "high": None}
# The most nodes any one cluster may scale to, per budget: a quota against runaway cost.
BUDGET_NODE_LIMIT: dict[str, int] = {"low": 4, "medium": 8, "high": 16}
# Data frames take several times their stored (compressed parquet) size in memory, and training
# makes copies: ask for four times the stored size, and never less than 8 GiB.
MEMORY_FACTOR = 4
MINIMUM_MEMORY_GIB = 8
# Fine-tuning large models needs the memory of a data-centre GPU, not of an inference card.
FINE_TUNING_GPU_MEMORY_GIB = 40
# Compute names: 3-16 letters, digits and hyphens, starting with a letter (the service allows 2;
# the infrastructure's variables ask for 3).
CLUSTER_NAME = r"^[a-zA-Z][a-zA-Z0-9-]{1,14}[a-zA-Z0-9]$"


class VmSize(Model):
    vm_size: str
    series: str
    family: Family
    vcpus: int
    memory_gib: float
    gpus: int
    gpu_model: str
    gpu_memory_gib: float
    usd_per_hour: float


@cache
def vm_sizes() -> tuple[VmSize, ...]:
    """The VM sizes the guide chooses from (package data: data/vm_sizes.csv)."""
    text = files("accelerator.design").joinpath("data/vm_sizes.csv").read_text(encoding="utf-8")
    return tuple(VmSize.model_validate(row) for row in csv.DictReader(text.splitlines()))


def vm_size(name: str) -> VmSize:
    for size in vm_sizes():
        if size.vm_size == name:
            return size
    raise KeyError(f"{name} is not in the VM table (accelerator/design/data/vm_sizes.csv)")


def known_vm_size(name: str) -> str:
    if name not in {size.vm_size for size in vm_sizes()}:
        raise ValueError(f"{name} is not in the VM table (accelerator/design/data/vm_sizes.csv)")
    return name


class Workload(Model):
    data_size_gb: float = Field(gt=0)  # the training data as stored
    model_family: ModelFamily
    gpu: bool  # must training use GPUs?
    budget: Budget


class ComputeInputs(Model):
    cluster_name: str | None = Field(None, pattern=CLUSTER_NAME)  # None: cpu-cluster or gpu-cluster
    cluster_users: list[RoleKey] = Field(min_length=1)  # roles whose people share the dev cluster
    workload: Workload


class Cluster(Model):
    name: str
    vm_size: str
    tier: Literal["low_priority", "dedicated"]
    min_nodes: int = 0  # always 0: a cluster costs nothing while idle
    max_nodes: int = Field(ge=1)
    idle_seconds_before_scaledown: int = Field(ge=60)


class ComputeChoice(Model):
    workload: Workload
    family: Family
    vm_size: str
    memory_needed_gib: float
    price_per_hour: float
    candidates: list[dict[str, str | float | int | bool]]  # the family's sizes, and why each fits or not
    reasons: list[Text]
    clusters: dict[str, Cluster]  # per environment


def _family(workload: Workload) -> tuple[Family, str]:
    if workload.gpu or workload.model_family in ("deep_learning", "fine_tuning"):
        why = (
            "GPUs are required"
            if workload.gpu
            else f"{workload.model_family.replace('_', ' ')} trains on GPUs"
        )
        return "gpu", f"{why}: GPU family (NC series)"
    if workload.model_family == "gradient_boosting":
        return "compute_optimised", "gradient boosting is bound by CPU: compute-optimised family (F series)"
    return "general_purpose", "classical models on tabular data: general-purpose family (D series)"


def family_guide() -> list[dict[str, str | bool]]:
    """The guide's first step for every kind of workload: which VM family, and why."""
    rows: list[dict[str, str | bool]] = []
    for model_family in get_args(ModelFamily):
        for gpu in (False, True):
            workload = Workload(data_size_gb=1, model_family=model_family, gpu=gpu, budget="low")
            family, why = _family(workload)
            rows.append({"model family": model_family, "GPUs required": gpu, "VM family": family, "why": why})
    return rows


def choose_compute(
    workload: Workload,
    cluster_users: int,
    prices: dict[str, float] | None = None,
    cluster_name: str | None = None,
) -> ComputeChoice:
    """The VM size and the per-environment clusters for ``workload``; ``prices`` override the table's."""
    prices = prices or {}

    def price(size: VmSize) -> float:
        return prices.get(size.vm_size, size.usd_per_hour)

    family, why_family = _family(workload)
    reasons = [why_family]
    memory = max(MINIMUM_MEMORY_GIB, MEMORY_FACTOR * workload.data_size_gb)
    reasons.append(
        f"{workload.data_size_gb:g} GB of data needs about {memory:g} GiB of memory "
        f"({MEMORY_FACTOR}x stored size, at least {MINIMUM_MEMORY_GIB} GiB)"
    )
    limit = BUDGET_PRICE_LIMIT[workload.budget]
    reasons.append(
        f"{workload.budget} budget: "
        + (f"at most {limit:g} per node-hour" if limit is not None else "no limit per node-hour")
    )
    gpu_memory = FINE_TUNING_GPU_MEMORY_GIB if workload.model_family == "fine_tuning" else 0

    def fits(size: VmSize) -> bool:
        return size.memory_gib >= memory and size.gpu_memory_gib >= gpu_memory

    def affordable(size: VmSize) -> bool:
        return limit is None or price(size) <= limit

    def candidates_in(fam: str) -> list[VmSize]:
        return sorted((s for s in vm_sizes() if s.family == fam), key=lambda s: (price(s), s.vm_size))

    # More memory per core at a similar price: the memory-optimised family (E series) is the
    # fallback of the CPU families.
    families = [family] + (["memory_optimised"] if family in ("general_purpose", "compute_optimised") else [])
    pool = [size for fam in families for size in candidates_in(fam)]
    chosen = next((s for s in pool if fits(s) and affordable(s)), None)
    if chosen is None:
        chosen = min((s for s in pool if fits(s)), key=lambda s: (price(s), s.vm_size), default=None)
        if chosen is not None:
            reasons.append(f"no size fits within the budget: {chosen.vm_size} is the cheapest that fits")
    if chosen is None:
        chosen = max(pool, key=lambda s: (s.memory_gib, s.gpu_memory_gib, -price(s)))
        reasons.append(
            f"no single node holds the data: {chosen.vm_size} is the largest; sample the data, "
            "or distribute the work (Spark, Dask, distributed training)"
        )
    if chosen.family != family:
        reasons.append(f"no {family.replace('_', '-')} size will do: {chosen.family.replace('_', '-')}")
        family = chosen.family
    reasons.append(f"chosen: {chosen.vm_size}")
    candidates = [
        {
            "vm_size": s.vm_size,
            "vcpus": s.vcpus,
            "memory_gib": s.memory_gib,
            "gpus": s.gpus,
            "price_per_hour": price(s),
            "holds the data": fits(s),
            "within budget": affordable(s),
            "chosen": s.vm_size == chosen.vm_size,
        }
        for s in candidates_in(family)
    ]
    name = cluster_name or ("gpu-cluster" if family == "gpu" else "cpu-cluster")
    node_limit = BUDGET_NODE_LIMIT[workload.budget]

    def nodes(wanted: int) -> int:
        return max(1, min(wanted, node_limit))

    # Dev: a node per person who may run a job at once, kept warm between their runs, on cheaper
    # low-priority capacity. Test runs one pipeline at a time; prod may retrain on full data and
    # sweep. Scheduled pipelines have nobody waiting for a warm node: they release nodes quickly.
    dev_idle = 1800 if workload.budget == "high" else 900
    clusters = {
        "dev": Cluster(
            name=name,
            vm_size=chosen.vm_size,
            tier="low_priority",
            max_nodes=nodes(cluster_users),
            idle_seconds_before_scaledown=dev_idle,
        ),
        "test": Cluster(
            name=name,
            vm_size=chosen.vm_size,
            tier="dedicated",
            max_nodes=nodes(2),
            idle_seconds_before_scaledown=300,
        ),
        "prod": Cluster(
            name=name,
            vm_size=chosen.vm_size,
            tier="dedicated",
            max_nodes=nodes(4),
            idle_seconds_before_scaledown=300,
        ),
    }
    reasons.append(
        f"dev scales to {clusters['dev'].max_nodes} nodes for {cluster_users} people "
        f"(at most {node_limit} on a {workload.budget} budget)"
    )
    return ComputeChoice(
        workload=workload,
        family=family,
        vm_size=chosen.vm_size,
        memory_needed_gib=memory,
        price_per_hour=price(chosen),
        candidates=candidates,
        reasons=reasons,
        clusters=clusters,
    )

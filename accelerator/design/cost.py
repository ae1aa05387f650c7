"""The monthly cost estimate (design/cost.yaml): compute hours times a price table, plus services.

Prices are per node-hour: the design's own (``prices``, your agreement's), else the indicative list
prices of the VM table. The estimate is for comparing designs and setting budgets, not a quote.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from accelerator import naming
from accelerator.design._types import EnvironmentName, Model
from accelerator.design.compute import Cluster, known_vm_size, vm_size
from accelerator.design.network import NetworkChoice

HOURS_PER_MONTH = 730  # as Azure bills always-on resources: 365 * 24 / 12
VmSizeName = Annotated[str, AfterValidator(known_vm_size)]
Money = Annotated[float, Field(ge=0)]


class Usage(Model):
    training_node_hours: Money = 0  # cluster node-hours a month for pipelines and retraining
    training_node_hours_per_user: Money = 0  # plus this for each person sharing the cluster
    endpoint_instances: int = Field(0, ge=0)  # online endpoint instances, running all month


class Services(Model):
    """Fixed monthly cost of each workspace's own services."""

    storage_account: Money
    key_vault: Money
    application_insights: Money
    container_registry: Money  # basic tier
    container_registry_premium: Money  # the tier private endpoints need
    private_endpoint: Money  # each


class CostInputs(Model):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    prices: dict[VmSizeName, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    low_priority_factor: float = Field(gt=0, le=1)  # what low-priority nodes cost against dedicated
    endpoint_vm_size: VmSizeName
    usage: dict[EnvironmentName, Usage]
    services: Services
    private_endpoints: int = Field(ge=0)  # per workspace with private networking
    budgets: dict[EnvironmentName, Annotated[float, Field(gt=0)]]
    alert_thresholds: list[Annotated[int, Field(ge=1, le=200)]] = Field(min_length=1)  # % of budget

    @field_validator("usage", "budgets")
    @classmethod
    def _every_environment(cls, value: dict) -> dict:
        missing = [e for e in naming.ENVIRONMENTS if e not in value]
        if missing:
            raise ValueError(f"nothing for {', '.join(missing)}: give dev, test and prod")
        return value


class CostLine(Model):
    environment: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float


class CostEstimate(Model):
    currency: str
    lines: list[CostLine]
    totals: dict[str, float]
    budgets: dict[str, float]
    alert_thresholds: list[int]
    prices: dict[str, float]  # the price per node-hour used for each VM size in the estimate
    price_source: dict[str, str]  # where each price came from

    @property
    def total(self) -> float:
        return round(sum(self.totals.values()), 2)


def estimate_cost(
    cost: CostInputs,
    clusters: dict[str, Cluster],
    networks: dict[str, NetworkChoice],
    cluster_users: int,
    node_hours: dict[str, float] | None = None,
) -> CostEstimate:
    """Monthly cost per environment; ``node_hours`` (environment -> training node-hours) overrides usage."""
    node_hours = node_hours or {}
    prices: dict[str, float] = {}
    sources: dict[str, str] = {}

    def price(size: str) -> float:
        if size not in prices:
            own = cost.prices.get(size)
            prices[size] = own if own is not None else vm_size(size).usd_per_hour
            sources[size] = "given in the design" if own is not None else "indicative, from the VM table"
        return prices[size]

    lines: list[CostLine] = []

    def add(env: str, item: str, quantity: float, unit: str, unit_price: float) -> None:
        lines.append(
            CostLine(
                environment=env,
                item=item,
                quantity=round(quantity, 2),
                unit=unit,
                unit_price=round(unit_price, 4),
                monthly=round(quantity * unit_price, 2),
            )
        )

    for env, cluster in clusters.items():
        usage = cost.usage[env]
        hours = node_hours.get(
            env, usage.training_node_hours + usage.training_node_hours_per_user * cluster_users
        )
        factor = cost.low_priority_factor if cluster.tier == "low_priority" else 1.0
        add(env, "training compute", hours, f"{cluster.vm_size} node-hours", price(cluster.vm_size) * factor)
        if usage.endpoint_instances:
            add(
                env,
                "online endpoint",
                usage.endpoint_instances * HOURS_PER_MONTH,
                f"{cost.endpoint_vm_size} instance-hours",
                price(cost.endpoint_vm_size),
            )
        private = networks[env].private_networking
        services = cost.services
        fixed = services.storage_account + services.key_vault + services.application_insights
        fixed += services.container_registry_premium if private else services.container_registry
        add(env, "workspace services", 1, "month", fixed)
        if private:
            add(env, "private endpoints", cost.private_endpoints, "endpoints", services.private_endpoint)
    totals = {
        env: round(sum(line.monthly for line in lines if line.environment == env), 2) for env in clusters
    }
    return CostEstimate(
        currency=cost.currency,
        lines=lines,
        totals=totals,
        budgets={env: cost.budgets[env] for env in clusters},
        alert_thresholds=sorted(cost.alert_thresholds),
        prices=prices,
        price_source=sources,
    )

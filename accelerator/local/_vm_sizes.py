"""The VM sizes (SKUs) Azure ML's managed online and batch deployments accept.

From "Managed online endpoints SKU list" in the Azure ML documentation
(learn.microsoft.com/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list): a
deployment with any other ``instance_type`` is refused by the service at creation. Matched without
regard to case, as the service matches them.
"""

from __future__ import annotations

from typing import Any

from accelerator.local._exceptions import bad_request

_GENERAL = (
    [f"Standard_DS{n}_v2" for n in (1, 2, 3, 4, 5)]
    + [f"Standard_D{n}a_v4" for n in (2, 4, 8, 16, 32, 48, 64, 96)]
    + [f"Standard_D{n}as_v4" for n in (2, 4, 8, 16, 32, 48, 64, 96)]
)
_COMPUTE = [f"Standard_F{n}s_v2" for n in (2, 4, 8, 16, 32, 48, 64, 72)]
_MEMORY = (
    [f"Standard_E{n}s_v3" for n in (2, 4, 8, 16, 32, 48, 64)]
    + [f"Standard_E{n}as_v4" for n in (2, 4, 8, 16, 32, 48, 64, 96)]
    + [f"Standard_E{n}ads_v5" for n in (2, 4, 8, 16, 32, 48, 64, 96)]
)
_GPU = [
    "Standard_NC4as_T4_v3",
    "Standard_NC8as_T4_v3",
    "Standard_NC16as_T4_v3",
    "Standard_NC64as_T4_v3",
    "Standard_NC6s_v3",
    "Standard_NC12s_v3",
    "Standard_NC24s_v3",
    "Standard_NC24ads_A100_v4",
    "Standard_NC48ads_A100_v4",
    "Standard_NC96ads_A100_v4",
    "Standard_ND40rs_v2",
    "Standard_ND96asr_v4",
    "Standard_ND96amsr_A100_v4",
    "Standard_ND96isr_H100_v5",
]
DEPLOYMENT_SKUS = tuple(_GENERAL + _COMPUTE + _MEMORY + _GPU)
_KNOWN = {sku.lower(): sku for sku in DEPLOYMENT_SKUS}


def check_deployment_sku(instance_type: Any) -> str | None:
    """``instance_type`` as the service spells it; the service's 400 for a size it does not offer."""
    if instance_type is None:
        return None
    known = _KNOWN.get(str(instance_type).lower())
    if known is None:
        raise bad_request(
            f"(InvalidPropertyValue) The instance type '{instance_type}' is not supported for "
            "managed deployments. Use a size from the managed online endpoints SKU list, such as "
            "Standard_DS3_v2 or Standard_F4s_v2."
        )
    return known


def check_count(value: Any, field: str, low: int, high: int) -> int:
    """An integer setting (instance count, concurrency) inside the service's bounds; else its 400."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(
            f"(InvalidPropertyValue) {field} must be an integer from {low} to {high}, not {value!r}."
        )
    return value

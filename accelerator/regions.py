"""Azure regions, kept apart from the local backend so that checking a region does not import the SDK."""

from __future__ import annotations

# Regions where Azure Machine Learning workspaces and registries can be created (public cloud).
AZURE_ML_REGIONS: tuple[str, ...] = (
    "australiacentral", "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral",
    "canadaeast", "centralindia", "centralus", "eastasia", "eastus", "eastus2", "francecentral",
    "germanywestcentral", "israelcentral", "italynorth", "japaneast", "japanwest", "koreacentral",
    "koreasouth", "mexicocentral", "northcentralus", "northeurope", "norwayeast", "polandcentral",
    "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "southindia",
    "spaincentral", "swedencentral", "switzerlandnorth", "switzerlandwest", "uaenorth", "uksouth",
    "ukwest", "westcentralus", "westeurope", "westus", "westus2", "westus3",
)  # fmt: skip

"""Network options for a workspace, their trade-offs, and the choice per environment."""

from __future__ import annotations

from typing import Literal

from accelerator.design._types import Model

NetworkOption = Literal["public", "managed_vnet", "private"]


class NetworkOptionInfo(Model):
    option: str
    name: str
    private_networking: bool  # compute in a managed virtual network, private endpoints to dependencies
    public_network_access: bool  # can the workspace be reached from the internet (with Entra ID)?
    protects: str
    costs: str
    effort: str
    users_reach_it: str


OPTIONS: dict[str, NetworkOptionInfo] = {
    "public": NetworkOptionInfo(
        option="public",
        name="public endpoints",
        private_networking=False,
        public_network_access=True,
        protects="Entra ID sign-in and RBAC only; storage and compute reachable from the internet",
        costs="nothing extra",
        effort="none: works out of the box",
        users_reach_it="from anywhere, with a browser or the SDK",
    ),
    "managed_vnet": NetworkOptionInfo(
        option="managed_vnet",
        name="managed virtual network",
        private_networking=True,
        public_network_access=True,
        protects="compute isolated in an Azure-managed virtual network; private endpoints to storage, "
        "key vault and registry; outbound traffic can be limited to approved destinations",
        costs="private endpoints (about 7 a month each); a firewall if outbound is limited by name",
        effort="low: Azure ML creates and manages the network",
        users_reach_it="from anywhere, with Entra ID; data stays on private links",
    ),
    "private": NetworkOptionInfo(
        option="private",
        name="private endpoints, no public access",
        private_networking=True,
        public_network_access=False,
        protects="the workspace and its dependencies only reachable from your network",
        costs="private endpoints, private DNS, a premium container registry, VPN or ExpressRoute",
        effort="high: DNS, peering and a way in (VPN, ExpressRoute or a jump host) to run",
        users_reach_it="only from the corporate network",
    ),
}


class NetworkChoice(Model):
    option: NetworkOption
    private_networking: bool
    public_network_access: bool
    reason: str


def choose_network(
    environment: str, classification: str, regulated: bool, chosen: str | None = None
) -> NetworkChoice:
    """The network option of one environment: ``chosen`` (stated in the design), else from the data."""
    if chosen is not None:
        option, reason = chosen, "stated in the design"
    elif regulated or classification == "restricted":
        why = "regulated" if regulated else "restricted data"
        option, reason = "private", f"{why}: no public access anywhere"
    elif classification == "confidential":
        option = "managed_vnet" if environment == "dev" else "private"
        reason = "confidential data: " + (
            "isolated compute for development"
            if environment == "dev"
            else "no public access where releases run"
        )
    elif classification == "internal":
        option = "public" if environment == "dev" else "managed_vnet"
        reason = "internal data: " + (
            "public endpoints with Entra ID for development"
            if environment == "dev"
            else "isolated compute and private links where releases run"
        )
    else:
        option, reason = "public", "public data: public endpoints with Entra ID suffice"
    info = OPTIONS[option]
    return NetworkChoice(
        option=option,  # type: ignore[arg-type]
        private_networking=info.private_networking,
        public_network_access=info.public_network_access,
        reason=reason,
    )

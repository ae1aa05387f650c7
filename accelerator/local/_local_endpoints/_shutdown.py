"""Stop every process the local store's online endpoints run, keeping the endpoints, and the
store's warm job daemon (see _execution/_warm.py).

What ``make book`` and ``make test`` call at the end of a run, so that no gateway, scoring server or
idle daemon outlives them. The endpoint and deployment records stay: the next ``invoke`` (or update) of an
endpoint starts its gateway again, and the gateway starts a deployment's server on its first
request, as after a reboot.
"""

from __future__ import annotations

from pathlib import Path

from accelerator._home import default_home
from accelerator.local._execution import _warm
from accelerator.local._local_endpoints import _deployments
from accelerator.local._store import read_record


def stop_endpoints(home: str | Path | None = None) -> list[str]:
    """Stop the gateways and scoring servers of every online endpoint in the store at ``home``
    (``ACCELERATOR_HOME`` by default); returns the endpoints found, as ``<workspace>/<endpoint>``."""
    from accelerator.local.operations._online_endpoint_operations import _stop_gateway

    root = Path(home).expanduser().resolve() if home else default_home()
    found = []
    for record_file in sorted(root.glob("workspaces/*/*/online_endpoints/*/endpoint.yaml")):
        folder = record_file.parent
        record = read_record(record_file)
        for deployment in record.get("deployments") or []:
            _deployments.stop(folder, deployment)
        _stop_gateway(record)
        found.append(f"{folder.parent.parent.name}/{folder.name}")
    _warm.stop_daemons(root)  # it would stop by itself once idle; the run ends now
    return found

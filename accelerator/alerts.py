"""The alert mails a workspace's monitors sent, on either backend.

A breached signal mails ``AlertNotification(emails=...)``. On Azure the mail goes through Azure
Monitor to the recipients' inboxes, which no SDK call reads: ``alert_mails`` returns none and says
where they are. The local backend keeps every alert in the store's Maildir (and sends it to an SMTP
server when one is configured; ``accelerator/local/_monitoring/_alert.py``): ``alert_mails`` reads
them from there, oldest first, as the standard library's ``EmailMessage``.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

logger = logging.getLogger(__name__)


def alert_mails(ml_client: Any) -> list[EmailMessage]:
    """The alert mails of the workspace ``ml_client`` acts on, oldest first."""
    from accelerator.local import LocalMLClient

    if isinstance(ml_client, LocalMLClient):
        from accelerator.local._monitoring import kept

        return kept(ml_client._scope.require_workspace())
    logger.warning(
        "Azure Monitor mails the alerts to the recipients of the monitor's AlertNotification; "
        "read them there (no SDK call returns them)."
    )
    return []

"""Alert mail for a breached signal, to ``AlertNotification(emails=...)``.

On Azure the evaluator posts an email event and Azure ML mails the addresses
(``evaluate_metrics_threshold.py``: ``post_email_event(signal_name, notification_emails,
error_message)``). Locally every alert is kept in a Maildir in the workspace
(``<workspace>/alerts/Maildir``, readable with Python's ``mailbox.Maildir`` or any mail client),
and also sent to an SMTP server when one is configured:

- ``ACCELERATOR_SMTP_HOST`` (and ``ACCELERATOR_SMTP_PORT``, default 25): where to send it;
- ``ACCELERATOR_SMTP_FROM``: the sender (default ``azureml-monitoring@localhost``).

No credentials are used: the server is expected to be a local relay or a test server.
"""

from __future__ import annotations

import mailbox
import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

SMTP_HOST = "ACCELERATOR_SMTP_HOST"
SMTP_PORT = "ACCELERATOR_SMTP_PORT"
SMTP_FROM = "ACCELERATOR_SMTP_FROM"
_DEFAULT_SENDER = "azureml-monitoring@localhost"


def maildir(workspace_dir: Path) -> Path:
    """The workspace's alert Maildir."""
    return workspace_dir / "alerts" / "Maildir"


def message(emails: list[str], monitor: str, signal: str, job: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = os.environ.get(SMTP_FROM) or _DEFAULT_SENDER
    mail["To"] = ", ".join(emails)
    mail["Subject"] = (
        f"Azure Machine Learning model monitor '{monitor}': signal '{signal}' breached its thresholds"
    )
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="localhost")
    mail["X-AzureML-Monitor-Run"] = job
    mail.set_content(f"{body}\nMonitor run: {job}\n")
    return mail


def send(workspace_dir: Path, mail: EmailMessage) -> bool:
    """Keep the mail in the Maildir, then send it if an SMTP server is configured; True if sent.

    A delivery failure is reported (raised) after the copy is kept: the alert is never lost.
    """
    maildir(workspace_dir).parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(maildir(workspace_dir), create=True)
    box.add(mail)
    host = os.environ.get(SMTP_HOST)
    if not host:
        return False
    port = int(os.environ.get(SMTP_PORT) or 25)
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.send_message(mail)
    return True


def kept(workspace_dir: Path) -> list[EmailMessage]:
    """Every alert kept in the workspace's Maildir, oldest first."""
    folder = maildir(workspace_dir)
    if not folder.is_dir():
        return []
    box = mailbox.Maildir(folder, create=False)
    found = [box.get_message(key) for key in box.iterkeys()]
    return sorted(found, key=lambda mail: mail.get_date() or 0)

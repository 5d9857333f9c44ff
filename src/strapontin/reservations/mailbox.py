"""The demo's mail server: keeps what it is given, so a new user can click "Confirmer"."""

from collections.abc import Sequence

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from strapontin.reservations.models import DemoMail


class DemoMailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            html = ""
            if isinstance(message, EmailMultiAlternatives):
                html = next(
                    (str(c) for c, mimetype in message.alternatives if mimetype == "text/html"),
                    "",
                )
            DemoMail.objects.create(
                to=", ".join(message.to),
                subject=str(message.subject),
                body_text=str(message.body),
                body_html=html,
                attachment_names=[a[0] for a in message.attachments if isinstance(a, tuple)],
            )
        return len(email_messages)

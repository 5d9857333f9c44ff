"""Background tasks (Django's tasks framework, django-tasks-db backend)."""

from django.tasks import task

from strapontin.reservations.notifications import deliver_due


@task()
def deliver_outbox() -> int:
    """Send the e-mails that are due; enqueued after each commit that wrote one when
    ``OUTBOX_SEND_AFTER_COMMIT`` is set (otherwise the worker's pass every second sends them)."""
    return deliver_due()

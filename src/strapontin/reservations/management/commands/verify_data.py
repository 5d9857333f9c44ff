from typing import Any

from django.core.management.base import BaseCommand, CommandError

from strapontin.reservations.integrity import find_violations


class Command(BaseCommand):
    help = (
        "Check the stored data against the invariants (no double booking, audited "
        "transitions, one e-mail per cause): after restoring a backup or a crash."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        violations = find_violations()
        for violation in violations:
            self.stderr.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} invariant violation(s).")
        self.stdout.write("Every invariant holds.")

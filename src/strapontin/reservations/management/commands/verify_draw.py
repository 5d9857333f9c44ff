from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strapontin.reservations.lottery import draw_check, draw_order
from strapontin.reservations.models import Draw


class Command(BaseCommand):
    help = (
        "Re-run a fair-opening draw from its published seed and check that the stored and "
        "published result is the one the seed gives: strapontin verify_draw SLUG YYYY-MM-DD."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("establishment", help="the establishment's short name (slug)")
        parser.add_argument("day", help="the day drawn, YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = date.fromisoformat(options["day"])
        except ValueError:
            raise CommandError("The day must read YYYY-MM-DD.") from None
        draw = Draw.objects.filter(establishment__slug=options["establishment"], day=day).first()
        if draw is None:
            raise CommandError("No draw for that establishment and day.")
        problems = draw_check(draw)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s): the draw does not check out.")
        order = draw_order(draw.seed, [row["reference"] for row in draw.results])
        self.stdout.write(f"Seed {draw.seed} (commitment {draw.commitment}).")
        self.stdout.write(f"Order re-run from the seed: {' '.join(order) or '(no request)'}.")
        self.stdout.write("The draw checks out: the stored result is the one its seed gives.")

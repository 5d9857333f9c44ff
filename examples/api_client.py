"""Book and confirm a seat through Strapontin's API alone (see docs/api.md).

It signs in first with the code e-mailed to the address, so that the booking is confirmed at
once; then it finds the first free slot, books it, and lists "my reservations".

    .venv/bin/python examples/api_client.py you@example.org                # asks for the code
    .venv/bin/python examples/api_client.py you@example.org --demo-mailbox # reads it in the demo
    .venv/bin/python examples/api_client.py you@example.org --cancel       # and cancels it

Needs only httpx. Against the demo (``./run demo``), the e-mails are kept at /demo/mails/.
"""

import argparse
import re
import sys
import time
from datetime import date, timedelta
from typing import Any

import httpx

#: A line of the demo mailbox: <a href="/demo/mails/12/">123456 est votre code …</a> — to
DEMO_CODE_MAIL = re.compile(r'href="/demo/mails/\d+/">(\d{6})\b[^<]*</a>\s*—\s*([^<\s]+)')


class ApiError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        body = response.json() if response.content else {}
        self.status = response.status_code
        self.code = body.get("code", "")
        super().__init__(f"{response.status_code} {self.code}: {body.get('message', '')}")


class Strapontin:
    def __init__(self, base_url: str, language: str = "fr") -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            headers={"Accept-Language": language},
            timeout=30,
        )
        self.token: str | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code == 429:
            wait = int(response.headers.get("Retry-After", "5"))
            print(f"… rate limited, waiting {wait} s")
            time.sleep(wait)
            return self.call(method, path, **kwargs)
        if response.is_error:
            raise ApiError(response)
        return response.json() if response.content else None

    # --- Signing in ---------------------------------------------------------------------

    def sign_in(self, email: str, read_code: Any) -> None:
        self.call("POST", "/auth/code", json={"email": email})
        code = read_code(email)
        answer = self.call("POST", "/auth/token", json={"email": email, "code": code})
        self.token = answer["token"]

    # --- Finding a slot -----------------------------------------------------------------

    def first_free_slot(self, slug: str) -> tuple[int, str, int] | None:
        """(place id, start, duration) of the earliest selectable start, today or later."""
        establishment = self.call("GET", f"/establishments/{slug}")
        policy = establishment["policy"]
        duration = policy["min_duration_minutes"]
        day = date.fromisoformat(establishment["week"][0]["date"])
        for offset in range(policy["horizon_days"] + 1):
            wanted = day + timedelta(days=offset)
            try:
                grid = self.call(
                    "GET",
                    f"/establishments/{slug}/availability",
                    params={"date": wanted.isoformat(), "duration": duration, "per_page": 200},
                )
            except ApiError as error:
                if error.code == "date_out_of_range":
                    break
                raise
            starts = [(s, p["id"]) for p in grid["places"] for s in p["selectable"]]
            if starts:
                start, place = min(starts)
                return place, start, duration
        return None


def demo_mailbox_reader(base_url: str) -> Any:
    """Read the code in the demo's mailbox (the subject starts with it)."""

    def read(email: str) -> str:
        for _attempt in range(30):
            page = httpx.get(f"{base_url}/demo/mails/", timeout=10).text
            for code, to in DEMO_CODE_MAIL.findall(page):
                if to == email.strip().lower():
                    return str(code)
            time.sleep(1)
        sys.exit("No code arrived in the demo mailbox: is the demo running?")

    return read


def typed_code(email: str) -> str:
    return input(f"The 6-digit code sent to {email}: ").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("email")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--establishment", default="demo-bu")
    parser.add_argument("--demo-mailbox", action="store_true", help="read the code in the demo")
    parser.add_argument("--cancel", action="store_true", help="cancel the reservation at the end")
    args = parser.parse_args()

    api = Strapontin(args.base_url)
    read_code = demo_mailbox_reader(args.base_url) if args.demo_mailbox else typed_code
    api.sign_in(args.email, read_code)
    print(f"Signed in as {args.email}.")

    slot = api.first_free_slot(args.establishment)
    if slot is None:
        sys.exit("No free slot in the booking horizon.")
    place, start, duration = slot
    booked = api.call(
        "POST", "/reservations", json={"place": place, "start": start, "duration": duration}
    )
    reservation = booked["reservation"]
    print(
        f"Booked {reservation['place']['area']} – {reservation['place']['label']}, "
        f"{reservation['start']} → {reservation['end']}: {reservation['state']} "
        f"(reference {reservation['reference']})."
    )
    if reservation["state"] == "pending":
        print("This establishment asks for a confirmation every time: use the e-mail's link.")

    mine = api.call("GET", "/me/reservations")
    print(f"Upcoming reservations of {mine['email']}: {len(mine['upcoming'])}")
    for item in mine["upcoming"]:
        print(f"  {item['reference']}  {item['start']}  {item['place']['label']}  {item['state']}")

    if args.cancel:
        cancelled = api.call("POST", f"/reservations/{reservation['reference']}/cancel")
        print(f"Cancelled: {cancelled['state']}.")


if __name__ == "__main__":
    main()

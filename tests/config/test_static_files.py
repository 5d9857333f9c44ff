"""Production serves static files under hashed names with a long cache lifetime; collected
by collectstatic (which `strapontin serve` and the demo run) under production settings."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.urls import Resolver404, resolve

HASHED = re.compile(r"^/static/strapontin/site\.[0-9a-f]{12}\.css$")

UNDER_PRODUCTION_SETTINGS = """
import json
import django
django.setup()
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client

# Checks import the URLs, as `migrate` does before the first collectstatic of a deployment.
call_command("check", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
css = static("strapontin/site.css")
client = Client()
asset = client.get(css, HTTP_ACCEPT_ENCODING="gzip")
worker = client.get("/sw.js")
print(json.dumps({
    "css": css,
    "status": asset.status_code,
    "cache_control": asset.headers.get("Cache-Control", ""),
    "encoding": asset.headers.get("Content-Encoding", ""),
    "worker": worker.content.decode(),
}))
"""


def run_under_production_settings(var_dir: Path) -> dict[str, Any]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}},
        "DJANGO_SETTINGS_MODULE": "strapontin.config.settings",
        "STRAPONTIN_VAR_DIR": str(var_dir),
        "ALLOWED_HOSTS": "testserver",
    }
    done = subprocess.run(
        [sys.executable, "-c", UNDER_PRODUCTION_SETTINGS],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_static_files_have_hashed_names_and_a_long_cache_lifetime_in_production(
    tmp_path: Path,
) -> None:
    seen = run_under_production_settings(tmp_path)

    assert HASHED.match(seen["css"]), seen["css"]
    assert seen["status"] == 200
    assert "max-age=315360000" in seen["cache_control"]
    assert "immutable" in seen["cache_control"]
    assert seen["encoding"] == "gzip"
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert HASHED.match("/static/" + manifest["paths"]["strapontin/site.css"])
    # The installable app precaches the very files the pages name.
    assert seen["css"] in seen["worker"]


def test_the_bare_django_ceiling_of_the_bench_is_not_a_production_url() -> None:
    with pytest.raises(Resolver404):
        resolve("/bench/ceiling")

"""The accessibility statement: linked from every page's footer, shown at /accessibilite/ from
the Markdown file the deployment names (the project's own by default)."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_page_links_the_statement_from_its_footer(client: Client) -> None:
    page = client.get("/").content.decode()
    footer = page[page.index('<footer class="site-footer">') :]
    assert f'href="{reverse("public:accessibility")}"' in footer
    assert "Accessibilité\u00a0: non conforme" in footer


def test_the_statement_is_the_projects_by_default_in_french(client: Client) -> None:
    response = client.get("/accessibilite/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<article class="statement" lang="fr">' in html
    assert "<h1>Déclaration d'accessibilité</h1>" in html
    assert "<h2>État de conformité</h2>" in html
    assert "Voies de recours" in html


def test_a_deployment_shows_its_own_statement(
    client: Client, settings: pytest.FixtureRequest, tmp_path: Path
) -> None:
    own = tmp_path / "declaration.md"
    own.write_text("# Déclaration d'accessibilité de la BU\n\nContact : bu@univ.example\n")
    settings.ACCESSIBILITY_STATEMENT = own
    html = client.get("/accessibilite/").content.decode()
    assert "<h1>Déclaration d'accessibilité de la BU</h1>" in html
    assert "bu@univ.example" in html


def test_a_missing_statement_is_a_clear_404_not_an_error(
    client: Client, settings: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings.ACCESSIBILITY_STATEMENT = tmp_path / "absent.md"
    response = client.get("/accessibilite/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "has not published its accessibility statement yet" in response.content.decode()


def test_the_statement_page_changes_nothing_on_post(client: Client) -> None:
    assert client.post("/accessibilite/").status_code == 405

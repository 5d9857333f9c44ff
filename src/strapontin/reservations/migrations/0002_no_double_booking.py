"""I1 on PostgreSQL: no two holding reservations of one place overlap, enforced by the
database itself. SQLite has no exclusion constraints; there the booking service's write
transaction (BEGIN IMMEDIATE) serialises check-and-insert instead."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE reservations_reservation
    ADD CONSTRAINT reservation_no_overlap
    EXCLUDE USING gist (resource_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (state IN ('pending', 'confirmed', 'checked_in'));
"""
DROP = "ALTER TABLE reservations_reservation DROP CONSTRAINT reservation_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("reservations", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

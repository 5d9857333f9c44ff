from django.db import models


class CeilingRow(models.Model):
    """What the bare-Django ceiling inserts: one row per request, nothing else."""

    created_at = models.DateTimeField()
    client = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"ceiling row {self.pk}"

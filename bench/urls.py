"""Strapontin's URLs and the ceiling view, for the benchmark servers only."""

from django.urls import path

from bench.views import ceiling
from strapontin.config.urls import urlpatterns as strapontin_urlpatterns

urlpatterns = [path("bench/ceiling", ceiling, name="bench_ceiling"), *strapontin_urlpatterns]

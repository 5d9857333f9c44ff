"""Settings of the benchmark servers: production settings, plus what only a benchmark needs.

Two additions, never present in production: the bare-Django ceiling (``/bench/ceiling``, a
view doing one INSERT, see :mod:`bench.views`) and a ``Server-Timing`` header giving the time
spent in Django for each answer (:mod:`bench.middleware`).
"""

from strapontin.config.settings import *  # noqa: F403
from strapontin.config.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
# First, so that the time covers every other middleware as well as the view.
MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls"

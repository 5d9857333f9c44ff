"""The bare-Django ceiling: the same server, settings and middleware as Strapontin, and a
view that does one INSERT. Booking throughput is quoted as a ratio to it."""

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.models import CeilingRow


@csrf_exempt
@require_POST
def ceiling(request: HttpRequest) -> JsonResponse:
    row = CeilingRow.objects.create(
        created_at=timezone.now(), client=request.headers.get("X-Forwarded-For", "")[:64]
    )
    return JsonResponse({"id": row.pk}, status=201)

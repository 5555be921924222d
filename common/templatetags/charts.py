import uuid

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from common.charts import Chart

register = template.Library()


@register.simple_tag
def chart(spec: Chart, *, table: bool = True) -> SafeString:
    """A chart with its table view beside it (templates/includes/chart.html)."""
    return render_to_string(
        "includes/chart.html",
        {
            "chart": spec,
            "spec": spec.spec(),
            "dom_id": f"chart-{uuid.uuid4().hex[:10]}",
            "table": table,
        },
    )

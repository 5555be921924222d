"""Pages of the yearly rollover and of junior-middle intake (under /registry/)."""

from django.urls import path

from tenant_apps.registry.lifecycle import intake_views, rollover_views

app_name = "lifecycle"
urlpatterns = [
    path("rollover/", rollover_views.rollover_view, name="rollover"),
    path("intake/", intake_views.intake_view, name="intake"),
    path("intake/apply/", intake_views.intake_apply_view, name="intake_apply"),
    path("intake/batch/", intake_views.intake_batch_view, name="intake_batch"),
    path("intake/new/", intake_views.intake_new_view, name="intake_new"),
    path("intake/paper/", intake_views.paper_view, name="paper"),
    path(
        "intake/paper/<int:paper_id>/complete/",
        intake_views.paper_complete_view,
        name="paper_complete",
    ),
]

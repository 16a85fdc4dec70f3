"""``path("longshore/", include("longshore.django.urls"))``: the URLs Longshore calls.

- ``tasks/run/``: task callbacks (``LONGSHORE['CALLBACK_URL'] + "tasks/run/"``);
- ``events/``: events (register it with ``manage.py longshore_register_endpoint``).
"""

from __future__ import annotations

from django.urls import path

from longshore.django.views import EventsView, TaskRunView

app_name = "longshore"

urlpatterns = [
    path("tasks/run/", TaskRunView.as_view(), name="task-run"),
    path("events/", EventsView.as_view(), name="events"),
]

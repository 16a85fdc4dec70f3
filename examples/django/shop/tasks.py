import time

try:
    from django.tasks import task
except ImportError:  # Django 5.2 with the django-tasks backport
    from django_tasks import task


@task
def build_summary(customer: str) -> dict:
    """Some slow work, run by Longshore calling back into this app."""
    time.sleep(1)
    return {"customer": customer, "orders": len(customer) * 3, "built_at": time.time()}

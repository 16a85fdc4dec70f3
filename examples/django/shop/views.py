from datetime import date
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from longshore.django._client import get_client
from shop.models import Action, ReceivedEvent
from shop.tasks import build_summary


def home(request: HttpRequest) -> HttpResponse:
    client = get_client()
    rows = []
    for action in Action.objects.all()[:20]:
        row: dict[str, Any] = {"action": action, "state": "", "link": ""}
        try:
            if action.kind == "email":
                row["state"] = client.emails.get(action.ref)["status"]
            elif action.kind == "certificate":
                doc = client.documents.get(action.ref)
                row["state"] = doc["status"]
                if doc["status"] == "ready":
                    row["link"] = f"/certificate/{action.ref}.pdf"
            elif action.kind == "task":
                result = build_summary.get_result(action.ref)
                row["state"] = result.status
                if result.is_finished and result.status == "SUCCESSFUL":
                    row["state"] += f": {result.return_value}"
        except Exception as exc:  # shown on the page, whatever it is
            row["state"] = f"? {exc}"
        rows.append(row)
    events = ReceivedEvent.objects.all()[:50]
    return render(request, "shop/home.html", {"rows": rows, "events": events})


@require_POST
def send_email(request: HttpRequest) -> HttpResponse:
    to = request.POST.get("email") or "ada@example.com"
    msg = EmailMultiAlternatives("Your order has shipped", "It is on its way.", to=[to])
    msg.attach_alternative(
        '<p>Your order is on its way. <a href="https://example.com/track/42">Track it</a>.</p>',
        "text/html",
    )
    msg.tags = ["shipping"]
    msg.metadata = {"order": "42"}
    msg.attach("invoice.txt", b"Invoice 42: 19.99 EUR\n", "text/plain")
    msg.send()
    status = msg.longshore_status
    Action.objects.create(kind="email", ref=status.email_id, detail=f"to {to}")
    return redirect("home")


@require_POST
def certificate(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name") or "Ada Lovelace"
    doc = get_client().documents.create(
        {
            "kind": "certificate",
            "data": {
                "recipient_name": name,
                "course_title": "Shipping with Longshore",
                "issued_on": date.today().isoformat(),
            },
        }
    )
    Action.objects.create(kind="certificate", ref=doc["id"], detail=f"for {name}")
    return redirect("home")


def certificate_pdf(request: HttpRequest, doc_id: str) -> HttpResponse:
    pdf = get_client().documents.content(doc_id)
    return HttpResponse(pdf, content_type="application/pdf")


@require_POST
def enqueue(request: HttpRequest) -> HttpResponse:
    customer = request.POST.get("customer") or "ada"
    result = build_summary.enqueue(customer)
    Action.objects.create(kind="task", ref=result.id, detail=f"build_summary({customer!r})")
    return redirect("home")

from django.urls import include, path
from shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("send-email/", views.send_email, name="send-email"),
    path("certificate/", views.certificate, name="certificate"),
    path("certificate/<str:doc_id>.pdf", views.certificate_pdf, name="certificate-pdf"),
    path("enqueue/", views.enqueue, name="enqueue"),
    path("longshore/", include("longshore.django.urls")),
]

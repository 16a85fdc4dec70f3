from django.urls import include, path

urlpatterns = [path("longshore/", include("longshore.django.urls"))]

import asyncio
import sys
import threading
import types

import pytest

from watchkeeper.integrations.context import work_name
from watchkeeper.metrics import CollectorRegistry

DUR = "http_server_request_duration_seconds_count"
MIDDLEWARE = "watchkeeper.integrations.django.HTTPMetricsMiddleware"


class Boom(Exception):
    pass


def routes_of(reg):
    out = {}
    for fam in reg.collect():
        for s in fam.samples:
            if s.name == DUR:
                key = (s.labels["http_route"], s.labels["http_response_status_code"],
                       s.labels["error_type"])
                out[key] = out.get(key, 0) + s.value
    return out


@pytest.fixture
def django_urls():
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, SECRET_KEY="test", ALLOWED_HOSTS=["testserver"],
                           ROOT_URLCONF="web_test_urls", INSTALLED_APPS=[], MIDDLEWARE=[])
        django.setup()
    from django.http import HttpResponse, JsonResponse
    from django.urls import include, path

    threads = []

    def item(request, pk):
        return JsonResponse({"route": work_name()})

    async def async_item(request, pk):
        threads.append(threading.get_ident())
        return JsonResponse({"route": work_name()})

    def boom(request):
        raise Boom("x")

    api = types.ModuleType("web_test_api_urls")
    api.urlpatterns = [path("items/<int:pk>/", item, name="item"),
                       path("async/<int:pk>/", async_item, name="async_item")]
    sys.modules["web_test_api_urls"] = api
    urls = types.ModuleType("web_test_urls")
    urls.urlpatterns = [path("api/v1/", include("web_test_api_urls")),
                        path("boom/", boom, name="boom"),
                        path("plain/", lambda r: HttpResponse("p"), name="plain")]
    sys.modules["web_test_urls"] = urls
    yield threads
    del sys.modules["web_test_urls"], sys.modules["web_test_api_urls"]


def settings_for(reg, **options):
    from django.test.utils import override_settings

    return override_settings(ROOT_URLCONF="web_test_urls", MIDDLEWARE=[MIDDLEWARE],
                             WATCHKEEPER_HTTP_METRICS={"registry": reg, **options})


def test_sync_views_include_prefix_unmatched_and_exceptions(django_urls):
    from django.test import Client

    reg = CollectorRegistry()
    with settings_for(reg):
        client = Client(raise_request_exception=False)
        assert client.get("/api/v1/items/3/").json() == {"route": "/api/v1/items/<int:pk>/"}
        client.get("/api/v1/items/4/")
        for i in range(20):
            client.get(f"/wp-admin/{i}.php")
        assert client.get("/boom/").status_code == 500
    assert routes_of(reg) == {("/api/v1/items/<int:pk>/", "200", ""): 2,
                              ("_unmatched", "404", ""): 20,
                              ("/boom/", "500", f"{Boom.__module__}.Boom"): 1}


def test_async_views_run_without_a_thread_hop(django_urls):
    from django.test import AsyncClient

    reg = CollectorRegistry()

    async def go():
        client = AsyncClient()
        response = await client.get("/api/v1/async/5/")
        return response.json(), threading.get_ident()

    with settings_for(reg):
        body, loop_thread = asyncio.run(go())
    assert body == {"route": "/api/v1/async/<int:pk>/"}
    assert django_urls == [loop_thread]
    assert routes_of(reg) == {("/api/v1/async/<int:pk>/", "200", ""): 1}


def test_django_preset_labels_views_by_name(django_urls):
    from django.test import Client

    reg = CollectorRegistry()
    with settings_for(reg, preset="django"):
        client = Client(raise_request_exception=False)
        client.get("/api/v1/items/3/")
        client.get("/boom/")
    assert reg.get_sample_value("django_http_requests_latency_seconds_by_view_method_count",
                                {"view": "item", "method": "GET"}) == 1
    assert reg.get_sample_value("django_http_exceptions_total_by_type_total",
                                {"type": "Boom"}) == 1
    assert reg.get_sample_value(
        "django_http_responses_total_by_status_view_method_total",
        {"status": "500", "view": "boom", "method": "GET"}) == 1


def test_django_preset_has_django_prometheus_names_and_labels(django_urls):
    """The same requests through django-prometheus's middlewares and ours."""
    import prometheus_client
    from django.test import Client
    from django.test.utils import override_settings

    def shape(registry):
        out = set()
        for fam in registry.collect():
            if fam.name.startswith("django_http"):
                for s in fam.samples:
                    if not s.name.endswith(("_created", "_bucket")):
                        out.add((s.name, tuple(sorted(s.labels.items()))))
        return out

    paths = ["/api/v1/items/1/", "/api/v1/items/2/", "/nope/", "/plain/"]
    theirs_mw = ["django_prometheus.middleware.PrometheusBeforeMiddleware",
                 "django_prometheus.middleware.PrometheusAfterMiddleware"]
    with override_settings(ROOT_URLCONF="web_test_urls", MIDDLEWARE=theirs_mw):
        client = Client(raise_request_exception=False)
        for p in paths:
            client.get(p)
    reg = CollectorRegistry()
    with settings_for(reg, preset="django"):
        client = Client(raise_request_exception=False)
        for p in paths:
            client.get(p)
    assert shape(reg) == shape(prometheus_client.REGISTRY)

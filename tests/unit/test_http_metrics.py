"""HTTP request metrics: by route template and status class, on the service's own /metrics."""

import uuid

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from shared.http import ops_router
from shared.http_metrics import UNMATCHED, instrument, route_label


def requests_counted(handler: str, status: str, method: str = "GET") -> float:
    labels = {"handler": handler, "method": method, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def app_with_routes(prefix: str) -> TestClient:
    """An app with a router under a unique prefix: the default registry is per process, so
    each test counts only its own series."""
    router = APIRouter(prefix=prefix)

    @router.get("/followups/{followup_id}")
    async def followup(followup_id: str) -> dict[str, str]:
        if followup_id == "missing":
            raise HTTPException(404)
        return {"id": followup_id}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the database went away")

    app = FastAPI()
    app.include_router(ops_router({}))
    app.include_router(router)
    instrument(app)
    return TestClient(app, raise_server_exceptions=False)


def test_a_matched_route_is_labelled_by_its_template():
    assert (
        route_label("/followups/{followup_id}", "/followups/F-1", 200) == "/followups/{followup_id}"
    )


def test_no_route_and_a_trailing_slash_redirect_collapse_into_one_label():
    assert route_label(None, "/followups/F-1/x", 404) == UNMATCHED
    assert route_label("/followups/F-1/", "/followups/F-1/", 307) == UNMATCHED
    assert route_label("/followups", "/followups", 200) == "/followups"


def test_requests_are_counted_by_template_and_status_class_never_by_raw_path():
    prefix = f"/t{uuid.uuid4().hex[:8]}"
    client = app_with_routes(prefix)
    template = f"{prefix}/followups/{{followup_id}}"

    assert client.get(f"{prefix}/followups/F-123?child=Jo").status_code == 200
    assert client.get(f"{prefix}/followups/F-456").status_code == 200
    assert client.get(f"{prefix}/followups/missing").status_code == 404

    assert requests_counted(template, "2xx") == 2
    assert requests_counted(template, "4xx") == 1
    scraped = client.get("/metrics").text
    assert f'handler="{template}"' in scraped
    assert "F-123" not in scraped
    assert "child" not in scraped


def test_a_server_error_is_counted_as_5xx():
    prefix = f"/t{uuid.uuid4().hex[:8]}"
    client = app_with_routes(prefix)
    assert client.get(f"{prefix}/boom").status_code == 500
    assert requests_counted(f"{prefix}/boom", "5xx") == 1


def test_unmatched_paths_share_one_series_and_ids_never_become_labels():
    prefix = f"/t{uuid.uuid4().hex[:8]}"
    client = app_with_routes(prefix)
    before = requests_counted(UNMATCHED, "4xx")
    redirects_before = requests_counted(UNMATCHED, "3xx")
    for n in range(3):
        assert client.get(f"{prefix}/nowhere/CASE-{n}").status_code == 404
    assert client.get(f"{prefix}/followups/F-9/", follow_redirects=False).status_code == 307

    assert requests_counted(UNMATCHED, "4xx") == before + 3
    assert requests_counted(UNMATCHED, "3xx") == redirects_before + 1
    scraped = client.get("/metrics").text
    assert "CASE-" not in scraped
    assert "F-9" not in scraped


def test_probes_and_scrapes_are_not_counted():
    prefix = f"/t{uuid.uuid4().hex[:8]}"
    client = app_with_routes(prefix)
    for path in ("/health", "/ready", "/metrics", f"{prefix}/followups/F-1"):
        client.get(path)
    assert requests_counted(f"{prefix}/followups/{{followup_id}}", "2xx") == 1
    scraped = client.get("/metrics").text
    for path in ("/health", "/ready", "/metrics"):
        assert f'handler="{path}"' not in scraped

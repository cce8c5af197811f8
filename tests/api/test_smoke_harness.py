from fastapi.testclient import TestClient

from tests.conftest import OrgCredentials


def test_health_answers_up_without_credentials(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"data": {"status": "UP"}, "errors": [], "warnings": []}


def test_an_org_lists_no_groups_before_it_creates_any(
    client: TestClient, org: OrgCredentials
) -> None:
    response = client.get("/v3/targetGroups", auth=org.auth)
    assert response.status_code == 200
    assert response.json()["pagination"] == {"limit": 10, "offset": 0, "total": 0}

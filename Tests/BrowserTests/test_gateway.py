"""enroll-kiosk's refusals, over plain HTTP on 127.0.0.1: no token or cookie, a foreign Host (DNS rebinding) or
Origin (cross-site), a body above the limit, a route the app does not use; and what it adds and strips."""
import http.client
import json

import pytest

from bench import KIOSK_UID


@pytest.fixture(scope="module")
def gateway(bench):
    process, url, port = bench.start_gateway("kiosk", KIOSK_UID, ["--max-body-bytes", "4096"])
    yield {"url": url, "port": port, "token": url.split("token=")[1]}
    bench.stop(process)


def request(gateway, method, path, body=None, headers=None, host=None):
    connection = http.client.HTTPConnection("127.0.0.1", gateway["port"], timeout=30)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host or f"127.0.0.1:{gateway['port']}")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    if method in ("POST", "PUT") or data:
        connection.putheader("Content-Length", str(len(data)))
    connection.endheaders(data)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    return response, parsed


def code(result):
    return (result[1] or {}).get("code")


@pytest.fixture(scope="module")
def cookie(gateway):
    # Refused before the exchange: a wrong token, the right one under a foreign Host, a cross-site navigation.
    assert code(request(gateway, "GET", "/start?token=" + "0" * 64)) == "start-token-invalid"
    assert request(gateway, "GET", f"/start?token={gateway['token']}", host="attacker.example")[0].status == 421
    assert code(request(gateway, "GET", f"/start?token={gateway['token']}",
                        headers={"Sec-Fetch-Site": "cross-site"})) == "cross-site"
    response, _ = request(gateway, "GET", f"/start?token={gateway['token']}", headers={"Sec-Fetch-Site": "none"})
    assert response.status == 303 and response.getheader("Location") == "/"
    set_cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie, set_cookie
    return set_cookie.split(";")[0]


def test_the_start_url_works_once(gateway, cookie):
    assert code(request(gateway, "GET", f"/start?token={gateway['token']}")) == "start-token-used"


def test_without_the_session_cookie_nothing_is_served(gateway, cookie):
    for path in ("/", "/kiosk/kiosk.js", "/config.json", "/api/v1/readers", "/api/v1/events"):
        response, body = request(gateway, "GET", path)
        assert response.status == 401 and body["code"] == "session-required", path
    wrong = cookie.split("=")[0] + "=" + "0" * 64
    assert request(gateway, "GET", "/api/v1/readers", headers={"Cookie": wrong})[0].status == 401


def test_with_the_cookie_the_app_and_the_api_are_served_with_a_strict_policy(gateway, cookie):
    response, _ = request(gateway, "GET", "/", headers={"Cookie": cookie})
    assert response.status == 200
    policy = response.getheader("Content-Security-Policy")
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    response, body = request(gateway, "GET", "/api/v1/readers", headers={"Cookie": cookie})
    assert response.status == 200 and "readers" in body
    assert response.getheader("Cache-Control") == "no-store"


def test_a_foreign_host_is_refused_against_dns_rebinding(gateway, cookie):
    for host in ("attacker.example", f"attacker.example:{gateway['port']}", f"localhost:{gateway['port']}",
                 f"127.0.0.1:{gateway['port'] + 1}"):
        response, body = request(gateway, "GET", "/api/v1/readers", headers={"Cookie": cookie}, host=host)
        assert response.status == 421 and body["code"] == "foreign-host", host


def test_a_foreign_or_missing_origin_is_refused_for_changes(gateway, cookie):
    body = {"reader": "Virtual PCD 00 00", "accessKey": {"can": "123456"}}
    for origin in ("http://attacker.example", f"http://localhost:{gateway['port']}", "null"):
        result = request(gateway, "POST", "/api/v1/enrollments", body, {"Cookie": cookie, "Origin": origin})
        assert result[0].status == 403 and code(result) == "foreign-origin", origin
    assert code(request(gateway, "POST", "/api/v1/enrollments", body, {"Cookie": cookie})) == "foreign-origin"
    assert code(request(gateway, "GET", "/api/v1/readers", None,
                        {"Cookie": cookie, "Origin": "http://attacker.example"})) == "foreign-origin"
    assert code(request(gateway, "GET", "/api/v1/readers", None,
                        {"Cookie": cookie, "Sec-Fetch-Site": "cross-site"})) == "cross-site"


def test_a_body_above_the_limit_is_refused_before_it_is_read(gateway, cookie):
    origin = f"http://127.0.0.1:{gateway['port']}"
    result = request(gateway, "POST", "/api/v1/enrollments", b"x" * 5000, {"Cookie": cookie, "Origin": origin,
                                                                          "Content-Type": "application/json"})
    assert result[0].status == 413 and code(result) == "body-too-large"


def test_routes_and_files_the_app_does_not_use_are_not_offered(gateway, cookie):
    origin = f"http://127.0.0.1:{gateway['port']}"
    for method, path in (("GET", "/api/v1/trust"), ("POST", "/api/v1/trust/reload"), ("GET", "/api/v1/accounts"),
                         ("POST", "/api/v1/certificates/01/revoke"), ("GET", "/api/v1/enrollments/../trust")):
        result = request(gateway, method, path, {} if method == "POST" else None, {"Cookie": cookie, "Origin": origin})
        assert result[0].status == 404 and code(result) == "route-not-offered", path
    for path in ("/counter/index.html", "/common/../counter/counter.js", "/kiosk/.hidden", "/kiosk/",
                 "/../README.md", "/kiosk/strings/en.json/x"):
        assert request(gateway, "GET", path, headers={"Cookie": cookie})[0].status == 404, path


def test_the_daemon_sees_the_gateways_uid_not_a_role_the_page_claims(gateway, cookie, bench):
    # X-Enrolld-Role never reaches the daemon (it would refuse a kiosk claiming admin with role-not-granted), and
    # the daemon answers as it answers the kiosk's uid: a kiosk may not read an account without the holder's proof.
    response, body = request(gateway, "GET", "/api/v1/readers", headers={"Cookie": cookie, "X-Enrolld-Role": "admin"})
    assert response.status == 200, body
    origin = f"http://127.0.0.1:{gateway['port']}"
    result = request(gateway, "POST", "/api/v1/enrollments/00000000-0000-4000-8000-000000000000/photo",
                     {"photo": "AAAA"}, {"Cookie": cookie, "Origin": origin})
    assert code(result) == "enrollment-not-found", result[1]
    status, _ = bench.api("GET", "/v1/readers", headers={"X-Enrolld-Role": "admin"})
    assert status == 200

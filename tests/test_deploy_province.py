"""deploy/province, for real: the systemd units pass `systemd-analyze verify`, the PostgreSQL setup
script creates a role and database (twice, changing nothing the second time), and Debian's nginx,
with the rendered site dropped into Debian's own nginx.conf, serves two real `hangdoi server`
processes (one with --workers 2) over HTTPS on loopback, with a certificate from a CA made here.

Through nginx: health, the redirect from plain HTTP, HSTS, the admin page, gzip, a kiosk's ticket,
and two websocket subscribers that nginx puts on different server processes, each of which must
receive every ticket issued through nginx, whichever process issued it, in order and without a gap
(the processes share events through PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text
from websockets.sync.client import ClientConnection, connect

from server.config import Settings
from tests.conftest import POSTGRES_URL, _postgres_admin

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = ROOT / "deploy" / "province"
UNITS = ["hangdoi@.service", "hangdoi-migrate.service", "hangdoi.target"]
INSTALLED_HANGDOI = "/opt/hangdoi/venv/bin/hangdoi"
# The `hangdoi` entry point of the venv running the tests: what systemd runs, from /opt/hangdoi.
HANGDOI = str(Path(sys.executable).with_name("hangdoi"))
NGINX = "/usr/sbin/nginx"
DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
EVENT_WAIT_S = 15.0
TICKETS = 6


def require(path: str | None, what: str) -> str:
    """The tool's path; missing, it fails under CI (where the image must have it) and skips elsewhere."""
    if path and Path(path).exists():
        return path
    reason = f"{what} is not installed (deploy/dev/bootstrap.sh installs it for the tests)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the deployment tests")
    pytest.skip(reason)


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all held open until each is chosen, so none comes twice."""
    with ExitStack() as held:
        socks = [held.enter_context(closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM))) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def clean_environment() -> dict[str, str]:
    """The caller's environment without any HANGDOI_ setting or libpq default that could leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HANGDOI_", "PG"))}


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def verify_units(analyze: str, units: list[Path], user: bool = False, env: dict[str, str] | None = None) -> None:
    """`systemd-analyze verify` finds nothing wrong with our units. It reports unknown keys and
    unparsable values on stderr but still exits 0: both count."""
    result = run([analyze, *(["--user"] if user else []), "verify", *(str(unit) for unit in units)], env=env)
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "hangdoi" in line]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


# --- Files that need no running service ---------------------------------------------------------


def test_shell_scripts_parse() -> None:
    for script in ("install.sh", "setup-postgres.sh"):
        result = run(["bash", "-n", str(PROVINCE / script)])
        assert result.returncode == 0, f"{script}: {result.stderr}"
    result = run(["sh", "-n", str(PROVINCE / "hangdoi-admin")])
    assert result.returncode == 0, result.stderr


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = require(shutil.which("systemd-analyze"), "systemd-analyze")
    # ExecStart must name an executable for verify to pass: point it at this venv's `hangdoi`.
    for unit in UNITS:
        source = (PROVINCE / unit).read_text()
        if unit.endswith(".service"):
            assert f"ExecStart={INSTALLED_HANGDOI} " in source, unit
        (tmp_path / unit).write_text(source.replace(INSTALLED_HANGDOI, HANGDOI))
    units = ["hangdoi@8001.service", "hangdoi@8002.service", "hangdoi-migrate.service", "hangdoi.target"]
    verify_units(analyze, [tmp_path / unit for unit in units])

    template = (PROVINCE / "hangdoi@.service").read_text()
    for line in (
        "EnvironmentFile=/etc/hangdoi/hangdoi.env",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/hangdoi",
        "User=hangdoi",
        "Requires=hangdoi-migrate.service",
        "WantedBy=hangdoi.target",
    ):
        assert re.search(rf"^{re.escape(line)}$", template, re.MULTILINE), line
    assert re.search(r"^After=.*\bpostgresql\.service\b.*\bhangdoi-migrate\.service\b", template, re.MULTILINE)
    assert re.search(r"^ExecStart=\S+ server --host 127\.0\.0\.1 --port %i$", template, re.MULTILINE)

    # systemd's own measure of the hardening: exposure at most 2.0 of 10 ("OK"; --threshold counts x10).
    hardened = [str(tmp_path / "hangdoi@8001.service"), str(tmp_path / "hangdoi-migrate.service")]
    security = run([analyze, "security", "--offline=yes", "--threshold=20", *hardened])
    assert security.returncode == 0, security.stdout + security.stderr


def test_env_example_sets_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variable of the example is a server setting, and the values parse as the server reads them."""
    names = set(Settings.model_fields)
    values: dict[str, str] = {}
    for line in (PROVINCE / "hangdoi.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            assert key.startswith("HANGDOI_") and key.removeprefix("HANGDOI_").lower() in names, key
            values[key] = value
    for key in [k for k in os.environ if k.startswith("HANGDOI_")]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.public_base_url.startswith("https://")
    # The sizing worked through in the file's comment: 4 instances fit PostgreSQL's default 100.
    per_instance = settings.workers * (settings.db_pool_size + settings.db_pool_overflow + 1)
    assert 4 * per_instance <= 100 - 3, per_instance


def test_renderer_refuses_what_would_inject_configuration() -> None:
    base = ["--ports", "8001-8002", "--cert", "/c.pem", "--key", "/k.pem"]
    bad = run([sys.executable, str(PROVINCE / "render_nginx.py"), "--server-name", "x; include /etc/passwd", *base])
    assert bad.returncode == 2 and "--server-name" in bad.stderr, bad.stderr
    good = run([sys.executable, str(PROVINCE / "render_nginx.py"), "--server-name", "a.example b.example", *base])
    assert good.returncode == 0, good.stderr
    assert "server 127.0.0.1:8001 " in good.stdout and "server 127.0.0.1:8002 " in good.stdout
    assert "listen [::]:443 ssl http2;" in good.stdout and "return 301 https://$host$request_uri;" in good.stdout


# --- The whole stack: PostgreSQL, two server processes, nginx with TLS ----------------------------


@dataclass
class Stack:
    https: str
    http: str
    ca: Path
    tls: ssl.SSLContext
    acme: Path
    ports: list[int]
    kiosk_token: str
    display_token: str
    site: str
    access_log: Path
    logs: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.https, verify=self.tls, headers=headers, timeout=30)

    def websocket(self) -> ClientConnection:
        return connect(f"wss://{self.https.removeprefix('https://')}/api/v1/ws", ssl=self.tls, open_timeout=10)

    def diagnostics(self) -> str:
        """The tail of every log, for a failure message."""
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(parts)


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signs for localhost and 127.0.0.1: (ca, certificate, key)."""
    openssl = require(shutil.which("openssl"), "openssl")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (directory / "ca.cnf").write_text(
        "[req]\ndistinguished_name = dn\nx509_extensions = ca\nprompt = no\n[dn]\nCN = hangdoi test CA\n"
        "[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
    )
    (directory / "server.ext").write_text(
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
        "subjectAltName = DNS:localhost, IP:127.0.0.1\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid, issuer\n"
    )
    serial = str(uuid.uuid4().int >> 64)
    # Run in `directory`, so every file below is named relative to it.
    sign = [openssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", serial]
    for command in (
        [openssl, "req", "-x509", "-config", "ca.cnf", *ec, "-days", "2", "-keyout", "ca.key", "-out", "ca.crt"],
        [openssl, "req", "-new", *ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"],
        [*sign, "-days", "2", "-extfile", "server.ext", "-out", "server.crt"],
    ):
        result = run(command, cwd=directory)
        assert result.returncode == 0, f"{command}: {result.stderr}"
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


def debian_nginx_conf(site: Path, work: Path) -> str:
    """Debian's own /etc/nginx/nginx.conf, with only what it writes moved into `work` and its
    sites-enabled replaced by the rendered site: the site must fit Debian's http block as it is."""
    conf = DEBIAN_NGINX_CONF.read_text()
    temp = "".join(f"\t{kind}_temp_path {work / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root the workers would become www-data, who cannot enter pytest's private temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    replacements = [
        (r"^user\s+\S+;", user),
        (r"^pid\s+\S+;", f"pid {work / 'nginx.pid'};"),
        (r"^error_log\s+\S+;", f"error_log {work / 'error.log'};"),
        (r"^(\s*)access_log\s+\S+;", rf"\g<1>access_log {work / 'access.log'};"),
        (r"^\s*include\s+/etc/nginx/conf\.d/\*\.conf;\n", ""),
        (r"^(\s*)include\s+/etc/nginx/sites-enabled/\*;", temp + rf"\g<1>include {site};"),
    ]
    for pattern, replacement in replacements:
        conf, count = re.subn(pattern, replacement, conf, flags=re.M)
        assert count == 1, f"Debian's nginx.conf no longer has one line matching {pattern!r}"
    return conf


def start_process(command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        # Its own process group: uvicorn's workers, nginx's workers and anything an app starts end with it.
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (as systemd stops a unit), then SIGKILL to its whole group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind by a crash


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, verify: ssl.SSLContext | bool, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(verify=verify, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {START_TIMEOUT_S:.0f} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = require(NGINX, "Debian's nginx")
    psql = require(shutil.which("psql"), "psql (postgresql-client)")
    require(str(DEBIAN_NGINX_CONF), "Debian's /etc/nginx/nginx.conf")
    work = tmp_path_factory.mktemp("province")
    logs = work / "logs"
    logs.mkdir()
    admin = _postgres_admin()
    name = f"hangdoi_deploy_{uuid.uuid4().hex[:10]}"
    with ExitStack() as cleanup:
        cleanup.callback(admin.dispose)

        def drop_database() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))

        cleanup.callback(drop_database)

        # The role and database, by the script an officer runs; a second run must change nothing.
        server_url = make_url(POSTGRES_URL)
        script_env = {
            **clean_environment(),
            "PGHOST": server_url.host or HOST,
            "PGPORT": str(server_url.port or 5432),
            "PGUSER": server_url.username or "postgres",
            "HANGDOI_DB_NAME": name,
            "HANGDOI_DB_USER": name,
            "HANGDOI_DB_HOST": server_url.host or HOST,
            "HANGDOI_DB_PORT": str(server_url.port or 5432),
            "PATH": f"{Path(psql).parent}:{os.environ.get('PATH', '')}",
        }
        if server_url.password:
            script_env["PGPASSWORD"] = server_url.password
        first = run(["bash", str(PROVINCE / "setup-postgres.sh")], env=script_env)
        assert first.returncode == 0, first.stderr
        database_url = first.stdout.strip().removeprefix("HANGDOI_DATABASE_URL=")
        assert make_url(database_url).database == name and make_url(database_url).username == name, first.stdout
        again = run(["bash", str(PROVINCE / "setup-postgres.sh")], env=script_env)
        assert again.returncode == 0 and "existing password" in again.stdout, again.stdout + again.stderr
        with admin.connect() as connection:
            owner = connection.execute(text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :n"), {"n": name})
            assert owner.scalar_one() == name

        *ports, http_port, https_port = free_ports(4)
        https = f"https://{HOST}:{https_port}"
        data_dir = work / "data"
        env = {
            **clean_environment(),
            "HANGDOI_DATABASE_URL": database_url,
            "HANGDOI_DATA_DIR": str(data_dir),
            "HANGDOI_PUBLIC_BASE_URL": https,
            "HANGDOI_LOG_LEVEL": "warning",
            "HANGDOI_DB_POOL_SIZE": "3",
            "HANGDOI_DB_POOL_OVERFLOW": "2",
        }
        # What hangdoi-migrate.service does, then the demo centre an officer would try first.
        for command in (["migrate"], ["demo"]):
            result = run([HANGDOI, *command], env=env)
            assert result.returncode == 0, f"hangdoi {command}: {result.stdout}{result.stderr}"
        credentials = json.loads((data_dir / "demo-credentials.json").read_text())

        # What hangdoi@<port>.service runs: two instances, the second with two workers.
        servers = []
        for port, workers in zip(ports, (1, 2), strict=True):
            log = logs / f"hangdoi-{port}.log"
            command = [HANGDOI, "server", "--host", HOST, "--port", str(port), "--workers", str(workers)]
            servers.append(start_process(command, env, log))
            cleanup.callback(stop_process, servers[-1])
        for port, server in zip(ports, servers, strict=True):
            wait_until_healthy(server, f"http://{HOST}:{port}/api/v1/health", False, logs / f"hangdoi-{port}.log")

        ca, cert, key = make_certificates(work)
        site = work / "hangdoi.conf"
        options = {
            "--server-name": "localhost",
            "--ports": ",".join(map(str, ports)),
            "--cert": str(cert),
            "--key": str(key),
            "--http-listen": f"{HOST}:{http_port}",
            "--https-listen": f"{HOST}:{https_port}",
            "--log-dir": str(logs),
            "--acme-root": str(work / "acme"),
            "--output": str(site),
        }
        rendered = run(
            [sys.executable, str(PROVINCE / "render_nginx.py"), "--no-ipv6", *(x for kv in options.items() for x in kv)]
        )
        assert rendered.returncode == 0, rendered.stderr
        conf = work / "nginx.conf"
        conf.write_text(debian_nginx_conf(site, work))
        command = [nginx, "-p", f"{work}/", "-e", str(logs / "nginx-start.log"), "-c", str(conf)]
        checked = run([*command, "-t"])
        assert checked.returncode == 0, checked.stderr
        warnings = [line for line in checked.stderr.splitlines() if "[warn]" in line and str(site) in line]
        assert not warnings, warnings
        proxy = start_process([*command, "-g", "daemon off;"], clean_environment(), logs / "nginx.log")
        cleanup.callback(stop_process, proxy)
        tls = ssl.create_default_context(cafile=str(ca))
        wait_until_healthy(proxy, f"{https}/api/v1/health", tls, logs / "nginx.log")

        yield Stack(
            https=https,
            http=f"http://{HOST}:{http_port}",
            ca=ca,
            tls=tls,
            acme=work / "acme",
            ports=ports,
            kiosk_token=credentials["devices"]["kiosk"],
            display_token=credentials["devices"]["display"],
            site=site.read_text(),
            access_log=logs / "hangdoi.access.log",
            logs=logs,
        )


def access_lines(stack: Stack, request: str, count: int) -> list[str]:
    """The access log's lines for `request` ("POST /api/v1/tickets"), once there are `count` of them
    (nginx writes a websocket's line only when it closes)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in stack.access_log.read_text().splitlines() if f'"{request} ' in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def upstream_port(line: str) -> int:
    match = re.search(rf"upstream={re.escape(HOST)}:(\d+)", line)
    assert match, line
    return int(match.group(1))


def test_https_health_hsts_and_tls(stack: Stack) -> None:
    with stack.client() as client:
        answer = client.get("/api/v1/health")
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert answer.headers["server"] == "nginx"  # server_tokens off: no version to look up exploits for
    # TLS 1.2 is still accepted (older kiosks' browsers); the certificate verifies against the CA.
    legacy = ssl.create_default_context(cafile=str(stack.ca))
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=legacy, timeout=10) as client:
        assert client.get(f"{stack.https}/api/v1/health").status_code == 200


def test_plain_http_redirects_to_https(stack: Stack) -> None:
    answer = httpx.get(f"{stack.http}/api/v1/health?x=1", follow_redirects=False, timeout=10)
    assert answer.status_code == 301
    assert answer.headers["location"] == f"{stack.https}/api/v1/health?x=1"
    followed = httpx.get(f"{stack.http}/api/v1/health", follow_redirects=True, verify=stack.tls, timeout=10)
    assert followed.status_code == 200 and str(followed.url).startswith("https://")
    # Except certbot's challenge (--webroot), answered over plain HTTP from the webroot.
    challenge = stack.acme / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token-123").write_text("token-123.thumbprint")
    answer = httpx.get(f"{stack.http}/.well-known/acme-challenge/token-123", follow_redirects=False, timeout=10)
    assert answer.status_code == 200 and answer.text == "token-123.thumbprint"


def test_server_sees_https_through_forwarded_headers(stack: Stack) -> None:
    # A redirect the server builds itself (trailing slash) carries the scheme it believes it is
    # served on: https only if nginx's X-Forwarded-Proto reached uvicorn and was trusted.
    with stack.client() as client:
        answer = client.get("/api/v1/health/", follow_redirects=False)
    assert answer.status_code in (307, 308), answer.text
    assert answer.headers["location"].startswith("https://"), answer.headers["location"]


def test_admin_page_and_compressed_scripts(stack: Stack) -> None:
    with stack.client() as client:
        page = client.get("/admin")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<html lang="vi">' in page.text and "Cấu hình" in page.text
        script = client.get("/static/admin.js", headers={"Accept-Encoding": "gzip"})
        assert script.status_code == 200 and script.headers.get("content-encoding") == "gzip", script.headers
        assert "function" in script.text  # httpx decompressed it: the body is intact


def test_kiosk_ticket_and_its_public_page(stack: Stack) -> None:
    with stack.client(stack.kiosk_token) as kiosk:
        answer = kiosk.post("/api/v1/tickets", json={"field_id": 1}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert issued["status_url"].startswith(f"{stack.https}/t/"), issued["status_url"]
    # The QR code's address, opened through nginx as a citizen's phone would.
    with httpx.Client(verify=stack.tls, timeout=10) as phone:
        page = phone.get(issued["status_url"])
    assert page.status_code == 200 and str(issued["ticket"]["number"]) in page.text


@contextmanager
def subscribed(stack: Stack) -> Iterator[tuple[ClientConnection, int]]:
    """A display's websocket through nginx, after its snapshot: (connection, the snapshot's seq)."""
    with stack.websocket() as ws:
        ws.send(json.dumps({"type": "subscribe", "scope": "centre", "token": stack.display_token}))
        message = json.loads(ws.recv(timeout=10))
        while message["type"] == "ping":
            message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "snapshot", message
        yield ws, int(message["seq"])


def events_until(ws: ClientConnection, wanted: int) -> list[dict[str, Any]]:
    """Events as they come, until `wanted` ticket.issued have arrived or EVENT_WAIT_S passes."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + EVENT_WAIT_S
    while sum(e.get("kind") == "ticket.issued" for e in events) < wanted:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if message["type"] == "ping":
            ws.send('{"type":"pong"}')
        else:
            events.append(message)
    return events


def test_live_events_reach_subscribers_on_every_process(stack: Stack) -> None:
    before = len(access_lines(stack, "GET /api/v1/ws", 0))
    # least_conn over a zone shared by nginx's workers: the second websocket goes to the instance
    # the first is not on.
    issued: list[int] = []
    with subscribed(stack) as (first, first_seq), subscribed(stack) as (second, second_seq):
        with stack.client(stack.kiosk_token) as kiosk:
            for i in range(TICKETS):
                body, key = {"field_id": 1 + i % 2}, str(uuid.uuid4())
                answer = kiosk.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
                assert answer.status_code == 201, answer.text
                issued.append(int(answer.json()["ticket"]["id"]))
        received = {"first": (first_seq, events_until(first, TICKETS)), "second": (second_seq, events_until(second, TICKETS))}

    ws_lines = access_lines(stack, "GET /api/v1/ws", before + 2)[before:]
    assert len(ws_lines) == 2, ws_lines
    subscribed_on = sorted(upstream_port(line) for line in ws_lines)
    assert subscribed_on == sorted(stack.ports), f"both subscribers went to one instance: {ws_lines}"
    ticket_lines = access_lines(stack, "POST /api/v1/tickets", TICKETS)[-TICKETS:]
    assert {upstream_port(line) for line in ticket_lines} == set(stack.ports), f"tickets did not land on both: {ticket_lines}"

    for who, (start, events) in received.items():
        seqs = [e["seq"] for e in events]
        got = [e["ticket"]["id"] for e in events if e.get("kind") == "ticket.issued"]
        assert all(e["type"] == "event" for e in events), events
        assert got == issued and seqs == list(range(start + 1, start + 1 + len(events))), (
            f"the {who} subscriber (instances {stack.ports}, one per subscriber) got tickets {got} with seqs {seqs} "
            f"after snapshot seq {start}; issued through nginx on both instances: {issued}. Events made on one server "
            f"process reach websockets on another only through PostgreSQL LISTEN/NOTIFY (server/postgres_broker.py).\n"
            + stack.diagnostics()
        )


def test_websocket_heartbeat_through_the_proxy(stack: Stack) -> None:
    # An idle websocket must outlive the server's heartbeat cycle (15 s, closed after 3 silent
    # periods) without nginx cutting it first: nginx's default 60 s would be cutting it close.
    location = re.search(r"location = /api/v1/ws \{(.*?)\}", stack.site, re.DOTALL)
    assert location, "no websocket location in the rendered site"
    timeout = re.search(r"proxy_read_timeout (\d+)s;", location.group(1))
    assert timeout and int(timeout.group(1)) >= 120, location.group(1)
    assert int(timeout.group(1)) > 3 * Settings.model_fields["heartbeat_seconds"].default
    assert "proxy_buffering off;" in location.group(1)

    with subscribed(stack) as (ws, _):
        # A websocket-level ping, answered by the server through nginx...
        assert ws.ping().wait(10), "no pong frame through nginx"
        # ...and the protocol's own ping.
        ws.send('{"type":"ping"}')
        message = json.loads(ws.recv(timeout=10))
        while message["type"] != "pong":
            assert message["type"] in ("ping", "event"), message
            message = json.loads(ws.recv(timeout=10))

#!/usr/bin/env python3
"""Render nginx-hangdoi.conf.in into an nginx site for this machine's hangdoi instances.

Tạo tệp cấu hình nginx cho các tiến trình hangdoi trên máy này từ tệp mẫu nginx-hangdoi.conf.in.

    python3 render_nginx.py --server-name hangdoi.example.gov.vn --ports 8001-8004 \\
        --cert /etc/letsencrypt/live/hangdoi.example.gov.vn/fullchain.pem \\
        --key /etc/letsencrypt/live/hangdoi.example.gov.vn/privkey.pem \\
        --output /etc/nginx/sites-available/hangdoi

Standard library only: it runs with Debian's python3 before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx-hangdoi.conf.in")
PLACEHOLDER = re.compile(r"@[A-Z_]+@")
UNSAFE = re.compile(r"[;{}\"'\n\r]")
INDENT = "    "


def parse_ports(spec: str) -> list[int]:
    """'8001-8004' or '8001,8002,8005' (or both mixed) → the ports, in order, each once."""
    ports: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if low > high:
            raise ValueError(f"port range {part!r} runs backwards")
        for port in range(low, high + 1):
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is out of range")
            if port not in ports:
                ports.append(port)
    if not ports:
        raise ValueError("no upstream port given")
    return ports


def split_listen(listen: str) -> tuple[str | None, int]:
    """'443' → (None, 443); '127.0.0.1:8443' → ('127.0.0.1', 8443)."""
    host, _, port = listen.rpartition(":")
    return (host or None), int(port)


def listen_lines(listen: str, ipv6: bool, flags: str) -> str:
    host, port = split_listen(listen)
    suffix = f" {flags}" if flags else ""
    lines = [f"{INDENT}listen {listen if host else port}{suffix};"]
    # Only when listening on every address: a given address is listened on as it is.
    if ipv6 and host is None:
        lines.append(f"{INDENT}listen [::]:{port}{suffix};")
    return "\n".join(lines)


def render(
    template: str,
    *,
    server_name: str,
    ports: list[int],
    cert: str,
    key: str,
    http_listen: str = "80",
    https_listen: str = "443",
    ipv6: bool = True,
    log_dir: str = "/var/log/nginx",
    acme_root: str = "/var/www/letsencrypt",
) -> str:
    https_port = split_listen(https_listen)[1]
    values = {
        "@SERVER_NAME@": server_name,
        # A failing instance is left alone for 10 s after 3 failures; the others take its share.
        "@UPSTREAM_SERVERS@": "\n".join(f"{INDENT}server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;" for port in ports),
        "@LISTEN_HTTP@": listen_lines(http_listen, ipv6, ""),
        "@LISTEN_HTTPS@": listen_lines(https_listen, ipv6, "ssl http2"),
        "@HTTPS_PORT_SUFFIX@": "" if https_port == 443 else f":{https_port}",
        "@SSL_CERT@": cert,
        "@SSL_KEY@": key,
        "@LOG_DIR@": log_dir.rstrip("/") or "/",
        "@ACME_ROOT@": acme_root,
    }
    # A ';', brace, quote or line break in a name or path would end the directive early and let
    # the value inject configuration: refuse it rather than render something surprising.
    given = {"--server-name": server_name, "--cert": cert, "--key": key, "--log-dir": log_dir, "--acme-root": acme_root}
    for name, value in given.items():
        if not value.strip() or UNSAFE.search(value):
            raise ValueError(f"{name} must be non-empty, without ; {{ }} quotes or line breaks: {value!r}")
    for name, value in values.items():
        template = template.replace(name, value)
    left = sorted(set(PLACEHOLDER.findall(template)))
    if left:
        raise ValueError(f"template placeholders with no value: {', '.join(left)}")
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server-name", required=True, help="tên miền, e.g. hangdoi.example.gov.vn (several: space-separated)")
    parser.add_argument("--ports", required=True, help="cổng các phiên bản hangdoi@<port>: 8001-8004 or 8001,8002")
    parser.add_argument("--cert", required=True, help="chứng chỉ TLS (full chain, PEM)")
    parser.add_argument("--key", required=True, help="khóa bí mật TLS (PEM)")
    parser.add_argument("--http-listen", default="80", help="PORT or ADDRESS:PORT (default 80)")
    parser.add_argument("--https-listen", default="443", help="PORT or ADDRESS:PORT (default 443)")
    parser.add_argument("--no-ipv6", dest="ipv6", action="store_false", help="do not also listen on [::]")
    parser.add_argument("--log-dir", default="/var/log/nginx")
    parser.add_argument("--acme-root", default="/var/www/letsencrypt", help="certbot --webroot folder")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--output", "-o", type=Path, help="default: standard output")
    args = parser.parse_args(argv)
    try:
        text = render(
            args.template.read_text(encoding="utf-8"),
            server_name=args.server_name,
            ports=parse_ports(args.ports),
            cert=args.cert,
            key=args.key,
            http_listen=args.http_listen,
            https_listen=args.https_listen,
            ipv6=args.ipv6,
            log_dir=args.log_dir,
            acme_root=args.acme_root,
        )
    except (OSError, ValueError) as error:
        print(f"render_nginx: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

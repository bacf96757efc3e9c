"""`python -m deploy.healthcheck`: the container health check of `lotse api` (deploy/Dockerfile,
deploy/compose.yaml). Exit 0 when GET /healthz on this container's API answers 200, else 1.

The port and host come from the same `Settings` the API reads, so the check cannot drift from
the port the API listens on. Standard library only besides `Settings`: it runs every few
seconds and must stay cheap. It must not check anything the API's /healthz does not.
"""

import sys
import urllib.error
import urllib.request

from app.settings import Settings

HEALTH_PATH = "/healthz"
TIMEOUT_SECONDS = 4.0
# Addresses meaning "every interface": the check then asks the loopback interface.
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def healthz_url(settings: Settings) -> str:
    host = settings.api_host
    if host in _WILDCARDS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # a literal IPv6 address
    return f"http://{host}:{settings.api_port}{HEALTH_PATH}"


def check(url: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Whether `url` answers 200 within `timeout` seconds (503, refused or slow: False)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    url = healthz_url(Settings())
    if check(url):
        return 0
    print(f"unhealthy: {url} did not answer 200", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

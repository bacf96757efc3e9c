"""The API server's logging: uvicorn's own configuration, with an access log that writes the
path of each request but never its query string.

Query strings carry what people search for and filter by (`/faelle?q=<client name>`, the
login page's `weiter=` with such a search in it); an access log is kept, shipped and read far
more widely than the data it would leak. `api.main.serve` runs uvicorn with `log_config()`
in every way Lotse serves HTTP (`lotse api`, `lotse up`, the container's command).
"""

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

ACCESS_LOGGER = "uvicorn.access"


class PathOnly(logging.Filter):
    """Cuts the query string off the path of uvicorn's access records. Those are logged as
    `'%s - "%s %s HTTP/%s" %d'` with (client, method, path and query, HTTP version, status);
    any other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with `PathOnly` on its access logger (on the
    logger, not a handler, so a handler added later sees only the path too)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["path_only"] = {"()": PathOnly}
    config["loggers"][ACCESS_LOGGER]["filters"] = ["path_only"]
    return config

"""Reading deploy/Dockerfile and .dockerignore the way Docker does, far enough for tests to check
them against the code: what the final image runs, as whom, with which environment, and which
files the build context sends.

Only the forms Lotse's files use are understood: exec-form (JSON) ENTRYPOINT/CMD/HEALTHCHECK,
`ENV key=value ...`, ARG defaults in FROM. Nothing here builds or runs anything.
"""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
REPO_ROOT = DEPLOY_DIR.parent
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_HEALTHCHECK_CMD = re.compile(r"(?:--\S+\s+)*CMD\s+(.*)\Z", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. "ENV"
    arguments: str  # continuation lines joined


@dataclass
class ImageConfig:
    """What the last stage of a Dockerfile leaves in the image."""

    base: str = ""
    stage: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)  # the CMD of HEALTHCHECK
    expose: list[int] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)  # names of every stage, in order


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, comments dropped and `\\` continuations joined."""
    result: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # comment lines may also sit inside a continuation
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            keyword, _, arguments = logical.partition(" ")
            result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def _command(arguments: str) -> list[str]:
    """Exec form (a JSON list) as is; shell form as Docker runs it."""
    if arguments.startswith("["):
        value = json.loads(arguments)
        if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
            raise ValueError(f"not an exec-form list of strings: {arguments}")
        return list(value)
    return ["/bin/sh", "-c", arguments]


def _env_pairs(arguments: str) -> dict[str, str]:
    parts = shlex.split(arguments)
    if parts and "=" not in parts[0]:  # legacy form: ENV key value
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


def image_config(text: str) -> ImageConfig:
    """The configuration of the final stage (instructions before the last FROM are dropped,
    except global ARG defaults, which FROM lines may use)."""
    global_args: dict[str, str] = {}
    config = ImageConfig()
    stages: list[str] = []
    seen_from = False
    for instruction in instructions(text):
        keyword, arguments = instruction.keyword, instruction.arguments
        if keyword == "ARG" and not seen_from:
            name, _, default = arguments.partition("=")
            global_args[name.strip()] = default.strip()
        elif keyword == "FROM":
            seen_from = True
            words = arguments.split()
            words = [word for word in words if not word.startswith("--")]
            base = _VARIABLE.sub(lambda m: global_args.get(m.group(1) or m.group(2), ""), words[0])
            stage = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(stage or str(len(stages)))
            config = ImageConfig(base=base, stage=stage)
        elif keyword == "ENV":
            config.env.update(_env_pairs(arguments))
        elif keyword == "USER":
            config.user = arguments
        elif keyword == "ENTRYPOINT":
            config.entrypoint = _command(arguments)
            config.cmd = []  # Docker resets CMD when ENTRYPOINT is set
        elif keyword == "CMD":
            config.cmd = _command(arguments)
        elif keyword == "EXPOSE":
            config.expose = [int(port.split("/")[0]) for port in arguments.split()]
        elif keyword == "HEALTHCHECK":
            check = _HEALTHCHECK_CMD.match(arguments)
            config.healthcheck = _command(check.group(1).strip()) if check else []
    config.stages = stages
    return config


def load_image_config(path: Path = DOCKERFILE) -> ImageConfig:
    return image_config(path.read_text(encoding="utf-8"))


# --- .dockerignore -----------------------------------------------------------------------------


def dockerignore_rules(text: str) -> list[tuple[bool, str]]:
    """(is_exception, pattern) for every rule, in order; later rules win."""
    rules: list[tuple[bool, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line[1:].strip() if exception else line
        rules.append((exception, pattern.strip("/")))
    return rules


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            out += pattern[i : end + 1] if end > i else re.escape(pattern[i])
            i = end + 1 if end > i else i + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore_excludes(rules: list[tuple[bool, str]], path: str) -> bool:
    """Whether the build context leaves out `path` (relative, `/`-separated). A rule matching a
    directory also matches everything below it."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for exception, pattern in rules:
        regex = _pattern_regex(pattern)
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not exception
    return excluded

"""Checking a `lotse ...` command line from a manifest against the real command line app: that
every subcommand is registered and that its options parse, without running anything.

Takes the command object typer builds (`typer.main.get_command(worker.cli.app)`), so the check
follows whatever the CLI registers today. Typer builds it on click or on its own vendored copy
of click, depending on the version; this module therefore only relies on what both have: a
group's `commands` mapping and a command's `make_context`.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol


class Command(Protocol):
    def make_context(self, info_name: str | None, args: list[str]) -> Any: ...


class UnknownCommand(LookupError):
    """A subcommand of the argv is not registered; `path` is the argv's commands up to it."""

    def __init__(self, path: tuple[str, ...]) -> None:
        super().__init__(f"`lotse {' '.join(path)}` is not a registered command")
        self.path = path


class BadArguments(ValueError):
    """The command exists but would refuse these arguments (unknown option, bad value)."""


def _subcommands(command: Command) -> Mapping[str, Command] | None:
    subcommands = getattr(command, "commands", None)
    return subcommands if isinstance(subcommands, Mapping) else None


def resolve(root: Command, args: Sequence[str]) -> tuple[tuple[str, ...], Command]:
    """Walk `args` (without the program name) through groups to the command they name."""
    path: list[str] = []
    command = root
    rest = list(args)
    while (subcommands := _subcommands(command)) is not None and rest:
        if rest[0].startswith("-"):
            break
        name = rest.pop(0)
        path.append(name)
        if name not in subcommands:
            raise UnknownCommand(tuple(path))
        command = subcommands[name]
    return tuple(path), command


def check_args(root: Command, args: Sequence[str]) -> tuple[str, ...]:
    """The command path of `args` (e.g. ("worker",)) after parsing its options as the CLI
    would; raises UnknownCommand or BadArguments."""
    path, command = resolve(root, args)
    if _subcommands(command) is not None:
        raise BadArguments(f"`lotse {' '.join(path)}` needs a subcommand")
    options = list(args)[len(path) :]
    try:
        # Parses and validates the parameters (types, ranges, unknown options); invokes nothing.
        command.make_context(" ".join(("lotse", *path)), options)
    except Exception as error:  # the CLI's usage errors; their class depends on typer's version
        raise BadArguments(f"`lotse {' '.join(args)}`: {error}") from error
    return path


def command_paths(root: Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf command of the app, e.g. ("worker",), ("rules", "check")."""
    subcommands = _subcommands(root)
    if subcommands is None:
        yield prefix
        return
    for name, sub in subcommands.items():
        yield from command_paths(sub, (*prefix, name))

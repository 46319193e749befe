"""Options shared by the subcommands, and the error handling of the ``campwatch`` group."""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from campwatch.config import Settings, load_settings
from campwatch.errors import CampwatchError, InputError, OutputError
from campwatch.io.output import disk_full
from campwatch.io.text import printable

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def echo(message: object = "", *, err: bool = False) -> None:
    """Print one line: text from inputs in it shows as what it is (:func:`campwatch.io.text.printable`)."""
    click.echo(printable(message), err=err)


class _PrintableFormatter(logging.Formatter):
    """Log lines whose text from inputs cannot forge another line or move the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = printable(record.getMessage())
        line = self.formatMessage(record)
        if record.exc_info:
            # A traceback (-vv) line by line, each marked so that no line of it passes for campwatch's own.
            trace = self.formatException(record.exc_info)
            line += "".join(f"\n  | {printable(t)}" for t in trace.splitlines())
        return line


class _OnceEach(logging.Filter):
    """Each warning once a run: a note every pair repeats (a grid the user assigned) is said once on the terminal
    (the reports keep every one)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.exc_info:
            return True
        text = record.getMessage()
        if text in self._seen:
            return False
        if len(self._seen) < 10_000:
            self._seen.add(text)
        return True


def configure_logging(verbose: int, quiet: int) -> None:
    """Send campwatch's log records to stderr at the level -v/-q ask for."""
    level = logging.WARNING - 10 * verbose + 10 * quiet
    logger = logging.getLogger("campwatch")
    logger.setLevel(max(logging.DEBUG, min(level, logging.CRITICAL)))
    for h in list(logger.handlers):
        if getattr(h, "_campwatch_cli", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("campwatch: %(levelname)s: %(message)s"))
    handler.addFilter(_OnceEach())
    handler._campwatch_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


verbose_opt = click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
quiet_opt = click.option("-q", "--quiet", count=True, help="Less log output on stderr.")


def verbosity(f: F) -> F:
    """Let a subcommand take -v/-q too (``campwatch detect ... -v``): they add to the group's."""

    @verbose_opt
    @quiet_opt
    @functools.wraps(f)
    def wrapper(*args: Any, verbose: int, quiet: int, **kwargs: Any) -> Any:
        if verbose or quiet:
            obj = click.get_current_context().find_root().obj or {}
            configure_logging(obj.get("verbose", 0) + verbose, obj.get("quiet", 0) + quiet)
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class CampwatchGroup(click.Group):
    """A click group that turns campwatch's errors into a one-line message and the documented exit code.

    Exit 2: bad input (a file, a parameter, the output folder); 1: anything else; 130:
    interrupted. Click's own usage errors keep click's handling (exit 2).

    ``lazy_commands``: subcommand name -> ``"module:attribute"``, imported only when that
    subcommand is run or listed (click's documented lazy-loading pattern).
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise RuntimeError(f"{self.lazy_commands[cmd_name]} is not the {cmd_name!r} command")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (InputError, OutputError) as exc:
            echo(f"campwatch: error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except CampwatchError as exc:
            echo(f"campwatch: error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        except BrokenPipeError:
            # The reader of our output went away (``campwatch ... | head``): not an error of ours.
            sys.stderr.close()
            sys.exit(EXIT_OK)
        except KeyboardInterrupt:
            echo("campwatch: interrupted; no partial output was kept", err=True)
            sys.exit(130)
        except Exception as exc:
            if disk_full(exc):
                where = getattr(exc, "filename", None)
                echo(f"campwatch: error: the disk is full{f' ({where})' if where else ''}: {exc}; free some space "
                     "and run again (no half-written output was kept)", err=True)
                sys.exit(EXIT_BAD_INPUT)
            logging.getLogger("campwatch").debug("unexpected error", exc_info=True)
            echo(f"campwatch: unexpected error: {type(exc).__name__}: {exc} (run with -vv for details)", err=True)
            sys.exit(EXIT_FAILURE)


def _load_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> Settings:
    return load_settings(value)


def config_option(f: F) -> F:
    """Add --config (a TOML or JSON file of parameters, and maybe a model), passed to the command as its
    :class:`~campwatch.config.Settings` (``settings``): the parameters, and the model the file names."""
    return click.option(  # type: ignore[return-value]
        "--config", "settings", type=click.Path(path_type=Path), callback=_load_config,
        help="TOML or JSON file of detection parameters (docs/config.md); a model it names is used "
             "unless --model is given.")(f)


def model_option(f: F) -> F:
    """Add --model (a change model: its ONNX file, its card, or a name in the models folder)."""
    return click.option(  # type: ignore[return-value]
        "--model", "model", default=None, metavar="MODEL",
        help="A change model to run with the classical stages: an .onnx file (card beside it), its card "
             "(.toml), or a name in the models folder (campwatch models). Default: classical stages only.")(f)


def mask_option(f: F) -> F:
    """Add --mask (a GeoJSON of areas not to analyse) to a command."""
    return click.option(  # type: ignore[return-value]
        "--mask", "mask_path", type=click.Path(path_type=Path),
        help="GeoJSON of areas not to analyse (polygons; a 'date' property limits one to that date).")(f)


def figure_options(f: F) -> F:
    """Add --dpi and --no-figures to a command that writes a figure set."""
    f = click.option("--no-figures", is_flag=True, help="Skip the figure set and report.html.")(f)
    return click.option(  # type: ignore[return-value]
        "--dpi", type=click.IntRange(min=50, max=1200), default=300, show_default=True,
        help="Resolution of the PNG figures.")(f)

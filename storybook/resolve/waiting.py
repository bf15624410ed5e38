"""What storybook shows while a tracking server is slow to answer.

On a terminal: a spinner with the server's address (without credentials), the time waited so far and how long
storybook will wait, gone when the answer comes. In a file, a pipe or CI (``CI`` set): one line, once, so that logs
stay short. The caller decides when to start (after a couple of seconds of silence) and stops it when the reads end.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from rich.console import Console
from rich.errors import LiveError
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

__all__ = ["show_wait", "use_console"]

_shared: list[Console] = []  # the command's own console (see use_console)


def use_console(console: Console) -> None:
    """Show the spinner on ``console`` (the command's own): drawn under its progress bars, not over them."""
    _shared[:] = [console]


class _Waited:
    """A spinner whose text says how long storybook has waited so far (recomputed at each refresh)."""

    def __init__(self, server: str, bound: str, started: float) -> None:
        self.server, self.bound, self.started = server, bound, started
        self.spinner = Spinner("dots")

    def __rich__(self) -> Spinner:
        waited = time.monotonic() - self.started
        self.spinner.update(text=Text(f"waiting for the tracking server at {self.server}: {waited:.0f} s so far "
                                      f"({self.bound})"))
        return self.spinner


def show_wait(server: str, bound: str, started: float, *, line: bool = True,
              console: Console | None = None) -> Callable[[], None]:
    """Start showing that storybook waits for ``server`` (an address already without credentials) since
    ``started`` (``time.monotonic()``); ``bound``: how long it will wait, in words. Returns the function that stops
    the spinner. Off a terminal it writes one line instead, only when ``line`` is true."""
    console = console or (_shared[0] if _shared else Console(stderr=True, highlight=False))
    if console.is_terminal and not os.environ.get("CI"):
        live = Live(_Waited(server, bound, started), console=console, refresh_per_second=4, transient=True)
        try:
            live.start()
        except LiveError:  # a console that cannot show two live displays at once: say it in a line
            pass
        else:
            return live.stop
    if line:
        print(f"waiting for the tracking server at {server} ... ({bound})", file=sys.stderr, flush=True)
    return lambda: None

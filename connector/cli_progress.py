"""Progress of a long CLI command: redrawn in place on a terminal, plain lines in a log.

A carriage return redraws the line on a terminal, but in a log file or a CI log
every redraw lands on one ever longer line. So the line is redrawn only when the
stream is a terminal; otherwise a plain line is written at the start, at each
further tenth of the work (when the total is known) or every ``every_seconds``,
and the last state at the end: at most a dozen lines per ten seconds of work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class ProgressLine:
    """One command's progress on ``stream`` (stderr: stdout keeps the result)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        every_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        interactive: bool | None = None,
    ) -> None:
        self.stream = stream
        self.interactive = _is_terminal(stream) if interactive is None else interactive
        self.every_seconds = every_seconds
        self.clock = clock
        self._width = 0
        self._written_at: float | None = None
        self._tenth = -1
        self._unwritten: str | None = None

    def show(self, text: str, fraction: float | None = None) -> None:
        """The current state; ``fraction`` (0 to 1) when the total is known."""
        if self.interactive:
            self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
            self.stream.flush()
            self._width = len(text)
            return
        now = self.clock()
        tenth = int(10 * min(max(fraction, 0.0), 1.0)) if fraction is not None else -1
        if (
            self._written_at is None
            or now - self._written_at >= self.every_seconds
            or tenth > self._tenth
        ):
            self._line(text)
            self._written_at = now
            self._tenth = max(self._tenth, tenth)
        else:
            self._unwritten = text

    def finish(self) -> None:
        """End the progress: a newline after a redrawn line, or the last state not yet written."""
        if self.interactive:
            if self._width:
                self.stream.write("\n")
                self.stream.flush()
        elif self._unwritten is not None:
            self._line(self._unwritten)
        self._width = 0

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self._unwritten = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False

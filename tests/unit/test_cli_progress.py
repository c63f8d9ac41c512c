"""The CLI's progress: redrawn on a terminal, a bounded number of plain lines otherwise."""

from __future__ import annotations

import io

from connector.cli_progress import ProgressLine


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_not_a_terminal_gets_a_line_per_tenth_and_no_carriage_return() -> None:
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(out, clock=clock)  # a StringIO is no terminal
    for done in range(1001):
        line.show(f"{done}/1000", done / 1000)
    line.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines == [f"{n}/1000" for n in range(0, 1001, 100)]


def test_without_a_total_a_line_every_ten_seconds_and_the_last_state_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(out, clock=clock)
    for read in range(100):
        clock.now = read * 0.5  # 50 s in all
        line.show(f"{read} read")
    line.finish()
    assert out.getvalue().splitlines() == [
        "0 read",
        "20 read",
        "40 read",
        "60 read",
        "80 read",
        "99 read",
    ]


def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    out = io.StringIO()
    line = ProgressLine(out, interactive=True)
    line.show("10 read, 1 error")
    line.show("20 read")
    line.finish()
    assert out.getvalue() == "\r10 read, 1 error\r20 read         \n"

"""What every synchroniser shares: the counts a run reports."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

MAX_MESSAGES = 50


@dataclass
class Counts:
    """Numbers of one run (or one page of it); pages add up into the run's."""

    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    deactivated: int = 0
    unchanged: int = 0
    suppressed: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)

    def add(self, other: Counts) -> None:
        for f in fields(self):
            if f.name == "messages":
                room = MAX_MESSAGES - len(self.messages)
                self.messages.extend(other.messages[: max(room, 0)])
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

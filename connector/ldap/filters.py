"""LDAP search filters (RFC 4515): escaping, parsing, and client-side evaluation.

Why evaluate on the client: the ``disabled`` setting is a filter, and asking the
server a second time for every page would double the reads. Evaluation is
case-insensitive (the usual matching rule of directory attributes) and knows
Active Directory's bitwise rules; ``>=``/``<=`` compare numbers as numbers and
everything else as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BIT_AND = "1.2.840.113556.1.4.803"
BIT_OR = "1.2.840.113556.1.4.804"
_ATTR = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+")
_ESCAPES = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\0": r"\00"}


class FilterError(ValueError):
    """The text is not an LDAP filter this module understands."""


def escape(value: str | bytes) -> str:
    """Escape a value for use inside a filter; bytes become ``\\xx`` for every byte."""
    if isinstance(value, bytes):
        return "".join(f"\\{b:02x}" for b in value)
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


@dataclass(frozen=True)
class Item:
    attr: str
    op: str  # "=", ">=", "<=", "~=", "present", "substr", BIT_AND, BIT_OR
    value: str = ""
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Combo:
    op: str  # "&", "|", "!"
    children: tuple[Node, ...]


Node = Item | Combo


def _unescape(text: str) -> str:
    def hexbyte(m: re.Match[str]) -> str:
        return bytes.fromhex(m.group(1)).decode("latin-1")

    raw = re.sub(r"\\([0-9A-Fa-f]{2})", hexbyte, text)
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text.strip(), 0

    def parse(self) -> Node:
        if not self.text.startswith("("):
            raise FilterError("a filter starts with '('")
        node = self._filter()
        if self.pos != len(self.text):
            raise FilterError(f"unexpected text after position {self.pos}")
        return node

    def _filter(self) -> Node:
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise FilterError(f"expected '(' at position {self.pos}")
        self.pos += 1
        head = self.text[self.pos : self.pos + 1]
        if head in ("&", "|", "!"):
            self.pos += 1
            children: list[Node] = []
            while self.pos < len(self.text) and self.text[self.pos] == "(":
                children.append(self._filter())
            if not children or (head == "!" and len(children) != 1):
                raise FilterError(f"'{head}' needs {'one filter' if head == '!' else 'filters'}")
            node: Node = Combo(head, tuple(children))
        else:
            node = self._item()
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            raise FilterError(f"expected ')' at position {self.pos}")
        self.pos += 1
        return node

    def _item(self) -> Item:
        end = self.text.find(")", self.pos)
        if end < 0:
            raise FilterError("unbalanced parentheses")
        body = self.text[self.pos : end]
        self.pos = end
        m = re.match(r"([^=~<>]+?)(~=|>=|<=|:=|=)(.*)\Z", body, re.S)
        if not m:
            raise FilterError(f"{body!r} is not an attribute comparison")
        attr, op, value = m.groups()
        if op == ":=":
            name, _, rule = attr.partition(":")
            if rule not in (BIT_AND, BIT_OR):
                raise FilterError(f"matching rule {rule!r} is not supported (only AD's bit rules)")
            if not value.isdigit():
                raise FilterError(f"bitwise match needs a number, got {value!r}")
            attr, op = name, rule
        if not _ATTR.fullmatch(attr):
            raise FilterError(f"{attr!r} is not an attribute name")
        if op == "=" and value == "*":
            return Item(attr, "present")
        if op == "=" and "*" in value:
            return Item(attr, "substr", parts=tuple(_unescape(p).lower() for p in value.split("*")))
        return Item(attr, op, _unescape(value))


def parse(text: str) -> Node:
    return _Parser(text).parse()


def attributes(node: Node) -> set[str]:
    """The attribute names a filter reads (to request them with the entry)."""
    if isinstance(node, Item):
        return {node.attr}
    return set().union(*(attributes(c) for c in node.children))


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _compare(op: str, have: str, want: str) -> bool:
    a, b = _number(have), _number(want)
    left: int | str = a if a is not None and b is not None else have.lower()
    right: int | str = b if a is not None and b is not None else want.lower()
    return left >= right if op == ">=" else left <= right  # type: ignore[operator]


def _substr(value: str, parts: tuple[str, ...]) -> bool:
    value = value.lower()
    first, *middle, last = parts
    if not value.startswith(first):
        return False
    pos = len(first)
    for part in middle:
        found = value.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return value[pos:].endswith(last) and len(value) - len(last) >= pos


def _item_matches(item: Item, values: Sequence[str]) -> bool:
    if item.op == "present":
        return bool(values)
    for value in values:
        if item.op in ("=", "~=") and value.lower() == item.value.lower():
            return True
        if item.op in (">=", "<=") and _compare(item.op, value, item.value):
            return True
        if item.op == "substr" and _substr(value, item.parts):
            return True
        if item.op in (BIT_AND, BIT_OR):
            number, mask = _number(value), int(item.value)
            if number is not None and (
                (number & mask) == mask if item.op == BIT_AND else number & mask
            ):
                return True
    return False


def matches(node: Node, entry: Mapping[str, Sequence[str]]) -> bool:
    """Does an entry (attribute name, lower-cased → text values) match the filter?"""
    if isinstance(node, Item):
        return _item_matches(node, entry.get(node.attr.lower(), ()))
    if node.op == "&":
        return all(matches(c, entry) for c in node.children)
    if node.op == "|":
        return any(matches(c, entry) for c in node.children)
    return not matches(node.children[0], entry)

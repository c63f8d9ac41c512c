"""`connector --help` and each command's help are plain text: no reST markup."""

from __future__ import annotations

import argparse

import pytest

from connector.cli import build_parser, main


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_parsers(child))
    return found


def test_every_help_text_is_free_of_markup():
    parsers = _parsers(build_parser())
    assert len(parsers) > 10
    for parser in parsers:
        text = parser.format_help()
        assert "`" not in text, (parser.prog, text)


def test_connector_help_prints_clean_text(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "``connector``" not in out
    assert "The connector's command line" in out

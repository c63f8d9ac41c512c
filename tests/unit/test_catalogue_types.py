"""A catalogued field's type: what its values are (e-mail addresses are checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.catalogue import CatalogueError, _load, builtin_folder, load_catalogue


def test_the_builtin_email_fields_are_typed():
    catalogue = load_catalogue(None)
    assert catalogue.contact_ids_of_type("email") == ("email", "email2")
    types = {f.id: f.type for f in catalogue.user_fields}
    assert types['emails[type eq "work"].value'] == "email"
    assert types["name.givenName"] == "text"  # the default


def test_an_unknown_type_is_a_catalogue_error(tmp_path: Path):
    for name in ("user_fields.toml", "default_mapping.toml"):
        (tmp_path / name).write_text((builtin_folder() / name).read_text())
    (tmp_path / "contact_fields.toml").write_text(
        '[[field]]\nid = "email"\nlabel = "Email"\ntype = "mail"\n'
    )
    with pytest.raises(CatalogueError, match="'email' has type 'mail'"):
        _load(tmp_path)

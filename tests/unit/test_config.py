"""Unit tests for connector.config.load_settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connector.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "connector.example.toml"


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder so that no config/connector.toml is picked up."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def write(tmp_path: Path, text: str, name: str = "connector.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    return str(info.value)


class TestDefaults:
    def test_defaults_without_file(self, _empty_cwd: Path) -> None:
        settings = load_settings(environ={})
        assert isinstance(settings, Settings)
        assert settings.source_file is None
        assert settings.server.host == "127.0.0.1"
        assert settings.server.port == 8080
        assert settings.server.max_body_bytes == 1_048_576
        assert settings.api.max_page_size == 1000
        assert settings.jobs.batch_size == 1000
        assert settings.logging.level == "INFO"
        assert settings.logging.format == "text"
        assert settings.scheduler.enabled is True
        assert settings.data_dir == Path("data")
        assert settings.catalogue_dir is None  # the catalogues shipped in the package
        assert settings.database.url == ""

    def test_default_database_is_sqlite_under_data_dir(self, _empty_cwd: Path) -> None:
        settings = load_settings(environ={})
        expected = (_empty_cwd / "data" / "connector.db").resolve()
        assert settings.database_url == f"sqlite:///{expected}"

    def test_default_database_follows_configured_data_dir(self, tmp_path: Path) -> None:
        data = tmp_path / "state"
        path = write(tmp_path, f'data_dir = "{data}"\n')
        settings = load_settings(environ={"CONNECTOR_CONFIG": str(path)})
        assert settings.data_dir == data
        assert settings.database_url == f"sqlite:///{(data / 'connector.db').resolve()}"

    def test_default_file_in_working_directory_is_used(self, _empty_cwd: Path) -> None:
        (_empty_cwd / "config").mkdir()
        (_empty_cwd / "config" / "connector.toml").write_text("[server]\nport = 9001\n")
        settings = load_settings(environ={})
        assert settings.server.port == 9001
        assert settings.source_file == Path("config/connector.toml")

    def test_example_file_is_valid_and_matches_defaults(self) -> None:
        settings = load_settings(environ={"CONNECTOR_CONFIG": str(EXAMPLE)})
        defaults = load_settings(environ={})
        assert settings.source_file == EXAMPLE
        assert settings.model_dump() == defaults.model_dump()


class TestFile:
    def test_values_from_file(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """
data_dir = "/srv/connector"
[database]
url = "postgresql+psycopg://u@db/c"
[server]
host = "0.0.0.0"
port = 9090
[logging]
level = "DEBUG"
format = "json"
[scheduler]
enabled = false
""",
        )
        settings = load_settings(environ={"CONNECTOR_CONFIG": str(path)})
        assert settings.source_file == path
        assert settings.database_url == "postgresql+psycopg://u@db/c"
        assert settings.data_dir == Path("/srv/connector")
        assert settings.server.host == "0.0.0.0"
        assert settings.server.port == 9090
        assert settings.logging.level == "DEBUG"
        assert settings.logging.format == "json"
        assert settings.scheduler.enabled is False

    def test_missing_file_named(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope" / "connector.toml"
        message = error_for({"CONNECTOR_CONFIG": str(missing)})
        assert str(missing) in message
        assert "not found" in message

    def test_invalid_toml_named(self, tmp_path: Path) -> None:
        path = write(tmp_path, "[server\nport = 1\n")
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert str(path) in message
        assert "TOML" in message

    def test_wrong_type_names_file_key_and_expectation(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[server]\nport = "abc"\n')
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert str(path) in message
        assert "server.port" in message
        assert "integer" in message
        assert "'abc'" in message

    @pytest.mark.parametrize(
        ("text", "key", "expected"),
        [
            ("[server]\nport = 0\n", "server.port", "greater than or equal to 1"),
            ("[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
            ("[server]\nmax_body_bytes = 10\n", "server.max_body_bytes", "1024"),
            ('[logging]\nlevel = "LOUD"\n', "logging.level", "'DEBUG'"),
            ('[logging]\nformat = "xml"\n', "logging.format", "'json'"),
            ('[scheduler]\nenabled = "sometimes"\n', "scheduler.enabled", "bool"),
            ("[jobs]\nbatch_size = 0\n", "jobs.batch_size", "greater than or equal to 1"),
            ("[api]\nmax_page_size = 100001\n", "api.max_page_size", "100000"),
        ],
    )
    def test_invalid_values(self, tmp_path: Path, text: str, key: str, expected: str) -> None:
        path = write(tmp_path, text)
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert str(path) in message
        assert f"'{key}'" in message
        assert expected in message

    def test_section_must_be_table(self, tmp_path: Path) -> None:
        path = write(tmp_path, 'server = "localhost"\n')
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert str(path) in message
        assert "'server'" in message

    def test_unknown_key_named(self, tmp_path: Path) -> None:
        path = write(tmp_path, "[server]\nprot = 8080\n")
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert str(path) in message
        assert "server.prot" in message
        assert "not a known setting" in message

    def test_unknown_top_level_key_and_section(self, tmp_path: Path) -> None:
        path = write(tmp_path, "colour = 1\n[extras]\na = 1\n")
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert "'colour'" in message
        assert "'extras'" in message

    def test_all_problems_reported(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[server]\nport = "abc"\nbogus = 1\n')
        message = error_for({"CONNECTOR_CONFIG": str(path)})
        assert "server.port" in message
        assert "server.bogus" in message

    def test_source_file_not_a_setting(self, tmp_path: Path) -> None:
        path = write(tmp_path, "[server]\nport = 8081\n")
        settings = load_settings(environ={"CONNECTOR_CONFIG": str(path)})
        assert "source_file" not in settings.model_dump()


class TestEnvironment:
    def test_overrides_win_over_file(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            'data_dir = "/from/file"\n[database]\nurl = "sqlite:///from-file.db"\n',
        )
        settings = load_settings(
            environ={
                "CONNECTOR_CONFIG": str(path),
                "CONNECTOR_DATABASE_URL": "postgresql+psycopg://env/db",
                "CONNECTOR_DATA_DIR": str(tmp_path / "env-data"),
            }
        )
        assert settings.database_url == "postgresql+psycopg://env/db"
        assert settings.data_dir == tmp_path / "env-data"
        assert settings.source_file == path

    def test_data_dir_override_moves_default_database(self, tmp_path: Path) -> None:
        settings = load_settings(environ={"CONNECTOR_DATA_DIR": str(tmp_path / "d")})
        assert settings.database_url == f"sqlite:///{(tmp_path / 'd' / 'connector.db').resolve()}"

    def test_other_overrides_are_converted(self, tmp_path: Path) -> None:
        settings = load_settings(
            environ={
                "CONNECTOR_HOST": "0.0.0.0",
                "CONNECTOR_PORT": "9000",
                "CONNECTOR_LOG_LEVEL": "WARNING",
                "CONNECTOR_LOG_FORMAT": "json",
                "CONNECTOR_SCHEDULER": "false",
                "CONNECTOR_CATALOGUE_DIR": str(tmp_path),
            }
        )
        assert settings.server.host == "0.0.0.0"
        assert settings.server.port == 9000
        assert settings.logging.level == "WARNING"
        assert settings.logging.format == "json"
        assert settings.scheduler.enabled is False
        assert settings.catalogue_dir == tmp_path

    def test_empty_override_ignored(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[database]\nurl = "sqlite:///keep.db"\n')
        settings = load_settings(
            environ={"CONNECTOR_CONFIG": str(path), "CONNECTOR_DATABASE_URL": ""}
        )
        assert settings.database_url == "sqlite:///keep.db"

    def test_bad_override_names_key(self) -> None:
        message = error_for({"CONNECTOR_PORT": "http"})
        assert "server.port" in message
        assert "'http'" in message
        assert "environment" in message

    def test_unrelated_environment_ignored(self) -> None:
        settings = load_settings(environ={"PATH": "/bin", "CONNECTOR_UNKNOWN": "1"})
        assert settings.server.port == 8080

    def test_override_into_non_table_names_file(self, tmp_path: Path) -> None:
        path = write(tmp_path, 'database = "sqlite"\n')
        message = error_for(
            {"CONNECTOR_CONFIG": str(path), "CONNECTOR_DATABASE_URL": "sqlite:///x.db"}
        )
        assert str(path) in message
        assert "database" in message


def test_the_core_configuration_knows_no_kind_of_source() -> None:
    """connector.config imports nothing of the connector: kinds of source (LDAP)
    register their [sources] sections themselves."""
    import ast

    import connector.config

    tree = ast.parse(Path(connector.config.__file__).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith(("connector", "scim"))]
    assert "ldap" in connector.config.sources_model().model_fields  # registered by the package


def test_a_kind_registered_late_is_validated_with_its_keys() -> None:
    """A kind of source registers its section whenever it is imported, also after
    settings were validated: its errors name their keys like any other setting."""
    import connector.config as config

    config.register_source_kind("example", list[int], list)
    try:
        with pytest.raises(ValidationError) as caught:
            config.Settings.model_validate({"sources": {"example": [1, "x"]}})
        assert [e["loc"] for e in caught.value.errors()] == [("sources", "example", 1)]
        assert config.Settings().sources.example == []
    finally:
        del config._SOURCE_KINDS["example"]
        config.sources_model.cache_clear()
        config.Settings.model_rebuild(force=True)
    with pytest.raises(ValidationError, match="extra"):
        config.Settings.model_validate({"sources": {"example": []}})


def test_the_grace_period_of_deletions_is_a_duration(tmp_path: Path) -> None:
    from datetime import timedelta

    assert load_settings({}).deletion.grace_period == timedelta(days=7)
    path = write(tmp_path, '[deletion]\ngrace_period = "12h"\n')
    assert load_settings({"CONNECTOR_CONFIG": str(path)}).deletion.grace_period == timedelta(
        hours=12
    )
    path = write(tmp_path, "[deletion]\ngrace_period = 0\n")
    assert load_settings({"CONNECTOR_CONFIG": str(path)}).deletion.grace_period == timedelta(0)
    path = write(tmp_path, '[deletion]\ngrace_period = "a week"\n')
    message = error_for({"CONNECTOR_CONFIG": str(path)})
    assert "deletion.grace_period" in message and "'a week' is not a duration" in message

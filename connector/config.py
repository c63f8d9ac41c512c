"""Configuration: one TOML file, environment overrides, validated by pydantic.

Loading never touches the database, so a bad file stops the process before
anything is written. Errors name the file, the key and what was expected.

The core knows no kind of source: each kind (``connector.ldap``) registers the
section it reads under ``[sources]`` with :func:`register_source_kind` when it is
imported (``connector/__init__.py`` imports the kinds the connector includes).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_core import CoreSchema

DEFAULT_CONFIG_PATH = Path("config/connector.toml")


# Durations as people write them in the configuration and the API: ``7d``, ``1h``, ``30m``.
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"([0-9]{1,9})\s*([smhd]?)")
DURATION_RULE = "a whole number followed by s, m, h or d (such as '7d', '1h', '30m'), or 0"


def parse_duration(value: object) -> timedelta:
    """``7d`` → 7 days; a bare number is seconds. ValueError naming the rule otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a duration: use {DURATION_RULE}")
    text = str(value).strip().lower()
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"{value!r} is not a duration: use {DURATION_RULE}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2) or "s"])


def duration_text(duration: timedelta) -> str:
    """The shortest way :func:`parse_duration` reads back: ``timedelta(days=7)`` → ``7d``."""
    seconds = int(duration.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s" if seconds else "0"


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(_Section):
    url: str = ""
    # Apply the migrations when the process starts; unset: `connector serve` does,
    # web replicas (the WSGI module) and `connector worker` do not.
    migrate: bool | None = None


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)


class ApiConfig(_Section):
    max_page_size: int = Field(default=1000, ge=1, le=100_000)


class JobsConfig(_Section):
    batch_size: int = Field(default=1000, ge=1, le=50_000)
    # A batch (one transaction, holding SQLite's write lock) aims to take this long:
    # its rows grow or shrink, up to batch_size, so that writers waiting meanwhile
    # (SCIM requests) wait at most about this long.
    batch_seconds: float = Field(default=0.02, gt=0.0, le=60.0)
    # A worker holds a job for this long and renews it; a job whose worker died is
    # taken over by another worker once it runs out.
    lease_seconds: float = Field(default=25.0, ge=2.0, le=3600.0)
    # How often a worker looks for queued jobs.
    poll_seconds: float = Field(default=1.0, gt=0.0, le=60.0)


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class SchedulerConfig(_Section):
    enabled: bool = True


class DeletionConfig(_Section):
    """How long a deleted user or contact stays restorable (``0``: deleted at once)."""

    grace_period: timedelta = timedelta(days=7)

    @field_validator("grace_period", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, timedelta):
            return value
        return parse_duration(value)


class Sources(_Section):
    """``[sources]``: one key per registered kind of source (``sources.ldap``, ...)."""

    if TYPE_CHECKING:  # the registered kinds' fields

        def __getattr__(self, kind: str) -> Any: ...


# kind → (the type of its value under [sources], a factory of its default)
_SOURCE_KINDS: dict[str, tuple[Any, Callable[[], Any]]] = {}


def register_source_kind(kind: str, annotation: Any, default: Callable[[], Any]) -> None:
    """Make ``[sources] <kind>`` a setting validated as ``annotation`` (errors keep
    their keys: ``sources.<kind>...``); ``default()`` when the file has none."""
    _SOURCE_KINDS[kind] = (annotation, default)
    sources_model.cache_clear()
    if Settings.__pydantic_complete__:  # validated before: take the new kind in
        Settings.model_rebuild(force=True)


@lru_cache(maxsize=1)
def sources_model() -> type[Sources]:
    """The ``[sources]`` section of the kinds registered so far."""
    fields: dict[str, Any] = {
        kind: (annotation, Field(default_factory=default))
        for kind, (annotation, default) in _SOURCE_KINDS.items()
    }
    return create_model("Sources", __base__=Sources, **fields)


class _RegisteredSources:
    """Validates ``sources`` with :func:`sources_model` (built when first needed, so
    that the kinds registered after this module are in it)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return handler.generate_schema(sources_model())


class Settings(_Section):
    # Built on first use, when the kinds of source have registered their sections.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    data_dir: Path = Path("data")
    # None: the catalogues shipped in the package (connector/catalogues/).
    catalogue_dir: Path | None = None
    database: DatabaseConfig = DatabaseConfig()
    server: ServerConfig = ServerConfig()
    api: ApiConfig = ApiConfig()
    jobs: JobsConfig = JobsConfig()
    logging: LoggingConfig = LoggingConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    deletion: DeletionConfig = DeletionConfig()
    sources: Annotated[Sources, _RegisteredSources()] = Field(
        default_factory=lambda: sources_model()()
    )
    source_file: Path | None = Field(default=None, exclude=True)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'connector.db').resolve()}"


# Environment variable → dotted key it overrides.
ENV_OVERRIDES = {
    "CONNECTOR_DATABASE_URL": "database.url",
    "CONNECTOR_DATA_DIR": "data_dir",
    "CONNECTOR_CATALOGUE_DIR": "catalogue_dir",
    "CONNECTOR_HOST": "server.host",
    "CONNECTOR_PORT": "server.port",
    "CONNECTOR_LOG_LEVEL": "logging.level",
    "CONNECTOR_LOG_FORMAT": "logging.format",
    "CONNECTOR_SCHEDULER": "scheduler.enabled",
    "CONNECTOR_MIGRATE": "database.migrate",
}


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(
                f"{where}: key '{part}' must be a table (it holds '{dotted}', "
                "which the environment overrides)"
            )
    node[leaf] = value


def _key(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """``sources.ldap[0] (corp).urls``: list items by index, and by name when they have one."""
    key, node = "", data
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                key += f" ({node['name']})"
            continue
        key += f".{part}" if key else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return key


def _describe(error: dict[str, Any], data: dict[str, Any] | None = None) -> str:
    key = _key(tuple(error["loc"]), data or {}) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"key '{key}' is not a known setting"
    got = error.get("input")
    shown = "" if isinstance(got, dict) else f" (got {got!r})"
    return f"key '{key}': {error['msg']}{shown}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the configuration file named by the environment and apply overrides."""
    env = dict(os.environ if environ is None else environ)
    explicit = env.get("CONNECTOR_CONFIG")
    path = Path(explicit) if explicit else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    source: Path | None = None
    if explicit or path.exists():
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: configuration file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        source = path
    where = str(source) if source else "built-in defaults and environment"
    for name, dotted in ENV_OVERRIDES.items():
        if env.get(name):
            _set_dotted(data, dotted, env[name], where)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e, data) for e in exc.errors())
        raise ConfigError(f"{where}: {problems}") from exc
    settings.source_file = source
    return settings

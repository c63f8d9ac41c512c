"""Configuration: one TOML file, environment overrides, validated by pydantic.

Loading never touches the database, so a bad file stops the process before
anything is written. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connector.ldap.settings import SourcesConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = Path("config/connector.toml")
BUILTIN_CATALOGUE_DIR = PROJECT_ROOT / "config"


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(_Section):
    url: str = ""


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)


class ApiConfig(_Section):
    max_page_size: int = Field(default=1000, ge=1, le=100_000)


class JobsConfig(_Section):
    batch_size: int = Field(default=1000, ge=1, le=50_000)


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class SchedulerConfig(_Section):
    enabled: bool = True


class Settings(_Section):
    data_dir: Path = Path("data")
    catalogue_dir: Path = BUILTIN_CATALOGUE_DIR
    database: DatabaseConfig = DatabaseConfig()
    server: ServerConfig = ServerConfig()
    api: ApiConfig = ApiConfig()
    jobs: JobsConfig = JobsConfig()
    logging: LoggingConfig = LoggingConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    sources: SourcesConfig = SourcesConfig()
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
    """``sources.ldap[0] (corp).urls``: list items by index, LDAP sources also by name."""
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

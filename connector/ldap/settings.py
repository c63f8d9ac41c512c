"""``[[sources.ldap]]`` configuration: validated at load time, presets filled in.

The LDAP package brings this section itself: importing this module registers it
with :func:`connector.config.register_source_kind` (the core configuration knows
no kind of source). Pure pydantic (no ldap3). Every mistake becomes one pydantic
error on its own key, which ``connector.config`` turns into a message naming
the file and the key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from connector.config import Settings, register_source_kind
from connector.ldap import filters
from connector.ldap.presets import PRESETS
from connector.services import delete_guard
from connector.services.sources import name_problem
from scim.errors import ScimError
from scim.paths import parse_path

# Set by the connector itself, never from the attribute map.
RESERVED_TARGETS = {"id", "externalid", "active", "meta", "schemas", "groups", "password"}
_EVERY = re.compile(r"every\s+(\d+)\s*([smhd])", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(BaseModel):
    """``every 5m`` (interval), ``cron 0 2 * * *`` or a bare 5-field cron; ``off``."""

    interval_seconds: int | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = text.strip()
        if text.lower() in ("", "off", "never"):
            return cls()
        m = _EVERY.fullmatch(text)
        if m:
            seconds = int(m.group(1)) * _UNITS[m.group(2).lower()]
            if seconds < 10:
                raise ValueError("an interval must be at least 10 seconds")
            return cls(interval_seconds=seconds)
        expr = text[5:].strip() if text.lower().startswith("cron ") else text
        if len(expr.split()) != 5:
            raise ValueError(
                f"{text!r} is neither 'every <n><s|m|h|d>' nor a 5-field cron "
                "expression such as 'cron 0 2 * * *' (or 'off')"
            )
        from apscheduler.triggers.cron import CronTrigger  # validates every field

        CronTrigger.from_crontab(expr, timezone="UTC")
        return cls(cron=expr)

    @property
    def enabled(self) -> bool:
        return self.interval_seconds is not None or self.cron is not None


class DeleteGuard(_Section):
    max_count: int = Field(default=500, ge=0)
    max_percent: float = Field(default=20, ge=0, le=100)

    def allows(self, deletions: int, population: int, *, confirmed: int = 0) -> bool:
        """Whether a reconciliation may remove ``deletions`` of ``population`` users;
        up to ``confirmed`` (what an admin allowed for a blocked run) always may (the
        rule of every source: connector.services.delete_guard)."""
        return delete_guard.allows(
            self.max_count, self.max_percent, deletions, population, confirmed=confirmed
        )


class Timeouts(_Section):
    connect: float = Field(default=5, gt=0, le=300)
    receive: float = Field(default=30, gt=0, le=3600)
    run: float = Field(default=3600, gt=0)


class LdapSourceConfig(_Section):
    name: str
    preset: Literal["openldap", "active_directory", "389ds"] = "openldap"
    urls: list[str] = Field(min_length=1)
    start_tls: bool = False
    ca_file: Path | None = None
    verify: bool = True
    bind_dn: str = ""
    bind_password_env: str | None = None
    bind_password_file: Path | None = None
    base_dn: str = Field(min_length=1)
    filter: str
    scope: Literal["subtree", "onelevel", "base"] = "subtree"
    page_size: int = Field(default=500, ge=1, le=10_000)
    id_attribute: Literal["entryUUID", "objectGUID", "nsUniqueId"]
    change_attribute: Literal["modifyTimestamp", "entryCSN", "uSNChanged"]
    disabled: str = ""
    sync_to_contact: bool | str = False
    poll: Schedule = Schedule.parse("every 5m")
    reconcile: Schedule = Schedule.parse("cron 0 2 * * *")
    overlap_seconds: int = Field(default=60, ge=0, le=86400)
    on_missing: Literal["delete", "deactivate"] = "delete"
    delete_guard: DeleteGuard = DeleteGuard()
    timeouts: Timeouts = Timeouts()
    retries: int = Field(default=2, ge=0, le=10)
    attributes: dict[str, str]
    # The fast path of full runs (connector.ldap.fast_import); false: the plain path.
    fast_import: bool = True

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        """Fill every key the source leaves out from its preset."""
        if not isinstance(data, dict):
            return data
        if "bind_password" in data:
            raise ValueError(
                "bind_password is not accepted in the file, "
                "use bind_password_env or bind_password_file"
            )
        # An unknown preset is reported on its own key; OpenLDAP's defaults keep the
        # other keys from failing as "required" on top of it.
        preset = PRESETS.get(str(data.get("preset", "openldap")), PRESETS["openldap"])
        return {**preset, **data}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # The same rule as every other source's name (it appears in API paths).
        problem = name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        out = []
        for url in urls:
            if not re.fullmatch(r"ldaps?://[^/\s]+/?", url, re.I):
                raise ValueError(f"{url!r} is not an ldap:// or ldaps:// URL (host[:port] only)")
            out.append(url.rstrip("/"))
        return out

    @field_validator("ca_file", "bind_password_file")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"file {str(path)!r} does not exist")
        return path

    @field_validator("filter", "disabled")
    @classmethod
    def _filter(cls, text: str) -> str:
        if text.strip():
            try:
                filters.parse(text)
            except filters.FilterError as exc:
                raise ValueError(f"not a valid LDAP filter: {exc}") from exc
        return text.strip()

    @field_validator("sync_to_contact")
    @classmethod
    def _scope(cls, value: bool | str) -> bool | str:
        if isinstance(value, str):
            from scim.filter import parse

            try:
                parse(value)
            except ScimError as exc:
                raise ValueError(f"not a valid SCIM filter: {exc.message}") from exc
        return value

    @field_validator("poll", "reconcile", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return Schedule.parse(value) if isinstance(value, str) else value

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, mapping: dict[str, str]) -> dict[str, str]:
        for attr, path in mapping.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", attr):
                raise ValueError(f"{attr!r} is not an LDAP attribute name")
            try:
                parsed = parse_path(path)
            except ScimError as exc:
                raise ValueError(f"{attr} = {path!r}: {exc.message}") from exc
            if parsed.uri is None and parsed.attr.lower() in RESERVED_TARGETS:
                raise ValueError(f"{attr} = {path!r}: the connector sets {parsed.attr} itself")
        if "userName" not in mapping.values():
            raise ValueError("one LDAP attribute must map to 'userName'")
        return mapping

    @model_validator(mode="after")
    def _consistent(self) -> LdapSourceConfig:
        if self.start_tls and any(u.lower().startswith("ldaps://") for u in self.urls):
            raise ValueError("start_tls and ldaps:// URLs exclude each other")
        if self.bind_password_env and self.bind_password_file:
            raise ValueError("give bind_password_env or bind_password_file, not both")
        if self.bind_dn and not (self.bind_password_env or self.bind_password_file):
            raise ValueError("bind_dn needs bind_password_env or bind_password_file")
        return self

    def password(self) -> str:
        """The bind password, read now (never stored in the configuration object)."""
        if self.bind_password_env:
            value = os.environ.get(self.bind_password_env)
            if value is None:
                raise LdapSettingError(
                    f"source {self.name!r}: environment variable "
                    f"{self.bind_password_env} (bind_password_env) is not set"
                )
            return value
        if self.bind_password_file:
            try:
                return self.bind_password_file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise LdapSettingError(
                    f"source {self.name!r}: cannot read bind_password_file: {exc.strerror}"
                ) from exc
        return ""

    def read_attributes(self) -> list[str]:
        """Everything a full entry read asks for: the map, the id, the marker, 'disabled'."""
        names = {self.id_attribute, self.change_attribute, *self.attributes}
        if self.disabled:
            names |= filters.attributes(filters.parse(self.disabled))
        return sorted(names, key=str.lower)


class LdapSettingError(Exception):
    """A setting that can only be checked when a run starts (a missing password)."""


def _unique_names(items: list[LdapSourceConfig]) -> list[LdapSourceConfig]:
    seen: set[str] = set()
    for item in items:
        if item.name.lower() in seen:
            raise ValueError(f"two LDAP sources are named {item.name!r}")
        seen.add(item.name.lower())
    return items


# The value of ``[[sources.ldap]]``: the configured directories, names unique.
LdapSources = Annotated[list[LdapSourceConfig], AfterValidator(_unique_names)]
KIND = "ldap"
register_source_kind(KIND, LdapSources, list)


def configured(settings: Settings) -> list[LdapSourceConfig]:
    """The configured LDAP sources, in file order."""
    sources: list[LdapSourceConfig] = getattr(settings.sources, KIND)
    return sources


def source_named(settings: Settings, name: str) -> LdapSourceConfig | None:
    return next((s for s in configured(settings) if s.name == name), None)

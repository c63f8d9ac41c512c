"""``[[sources.ldap]]``: presets, and one clear error per mistake naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import ConfigError, load_settings
from connector.ldap.settings import DeleteGuard, LdapSettingError, Schedule

MINIMAL = """
[[sources.ldap]]
name = "corp"
urls = ["ldaps://dc1.example.org", "ldaps://dc2.example.org/"]
bind_dn = "cn=reader,dc=example,dc=org"
bind_password_env = "CORP_LDAP_PASSWORD"
base_dn = "ou=people,dc=example,dc=org"
"""


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "connector.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(environ={"CONNECTOR_CONFIG": str(path)}), path


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "connector.toml") in message
    return message


def test_the_issue_example_loads(tmp_path: Path) -> None:
    settings, _ = load(
        tmp_path,
        """
[[sources.ldap]]
name = "corp"
urls = ["ldaps://dc1.example.org", "ldaps://dc2.example.org"]
start_tls = false
ca_file = "%s"
bind_dn = "cn=reader,dc=example,dc=org"
bind_password_env = "CORP_LDAP_PASSWORD"
base_dn = "ou=people,dc=example,dc=org"
filter = "(objectClass=inetOrgPerson)"
scope = "subtree"
page_size = 500
id_attribute = "entryUUID"
change_attribute = "modifyTimestamp"
disabled = "(pwdAccountLockedTime=*)"
sync_to_contact = true
poll = "every 5m"
reconcile = "cron 0 2 * * *"
delete_guard = { max_count = 500, max_percent = 20 }
[sources.ldap.attributes]
uid = "userName"
givenName = "name.givenName"
sn = "name.familyName"
mail = 'emails[type eq "work"].value'
telephoneNumber = 'phoneNumbers[type eq "work"].value'
"""
        % (tmp_path / "connector.toml"),
    )
    corp = settings.sources.ldap[0]
    assert corp.poll.interval_seconds == 300 and corp.reconcile.cron == "0 2 * * *"
    assert corp.delete_guard == DeleteGuard(max_count=500, max_percent=20)
    assert len(corp.attributes) == 5


def test_presets_fill_what_a_source_leaves_out(tmp_path: Path) -> None:
    settings, _ = load(tmp_path, MINIMAL)
    corp = settings.sources.ldap[0]
    assert corp.urls == ["ldaps://dc1.example.org", "ldaps://dc2.example.org"]
    assert (corp.id_attribute, corp.change_attribute) == ("entryUUID", "modifyTimestamp")
    assert corp.filter == "(objectClass=inetOrgPerson)"
    assert corp.attributes["uid"] == "userName"
    assert corp.verify is True

    ad, _ = load(tmp_path, MINIMAL + 'preset = "active_directory"\n')
    source = ad.sources.ldap[0]
    assert (source.id_attribute, source.change_attribute) == ("objectGUID", "uSNChanged")
    assert source.attributes["sAMAccountName"] == "userName"
    assert "1.2.840.113556.1.4.803" in source.disabled
    assert source.page_size == 1000

    ds, _ = load(tmp_path, MINIMAL + 'preset = "389ds"\n')
    assert ds.sources.ldap[0].id_attribute == "nsUniqueId"
    assert ds.sources.ldap[0].disabled == "(nsAccountLock=TRUE)"


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('bind_password = "hunter2"\n', "sources.ldap[0] (corp)", "bind_password_env"),
        ('preset = "novell"\n', "sources.ldap[0] (corp).preset", "openldap"),
        ("page_size = 0\n", "sources.ldap[0] (corp).page_size", "greater than"),
        ('id_attribute = "dn"\n', "sources.ldap[0] (corp).id_attribute", "entryUUID"),
        ('change_attribute = "whenChanged"\n', "(corp).change_attribute", "uSNChanged"),
        ('filter = "objectClass=person"\n', "sources.ldap[0] (corp).filter", "LDAP filter"),
        ('disabled = "(a=b"\n', "sources.ldap[0] (corp).disabled", "LDAP filter"),
        ('poll = "every so often"\n', "sources.ldap[0] (corp).poll", "cron"),
        ('reconcile = "cron 99 2 * * *"\n', "sources.ldap[0] (corp).reconcile", ""),
        ('sync_to_contact = "active eq"\n', "(corp).sync_to_contact", "SCIM filter"),
        ('ca_file = "/nope/ca.pem"\n', "sources.ldap[0] (corp).ca_file", "does not exist"),
        ('scope = "tree"\n', "sources.ldap[0] (corp).scope", "subtree"),
        ("delete_guard = { max_count = -1 }\n", "(corp).delete_guard.max_count", "greater"),
        ("delete_guard = { max_pct = 5 }\n", "(corp).delete_guard.max_pct", "not a known"),
        ('colour = "blue"\n', "sources.ldap[0] (corp).colour", "not a known setting"),
        ("start_tls = true\n", "sources.ldap[0] (corp)", "start_tls and ldaps://"),
        ('bind_password_file = "%(file)s"\n', "sources.ldap[0] (corp)", "not both"),
        ('[sources.ldap.attributes]\ncn = "displayName"\n', "(corp).attributes", "userName"),
        ('[sources.ldap.attributes]\nuid = "userName"\nx = "active"\n', "attributes", "itself"),
        ('[sources.ldap.attributes]\nuid = "userName"\nmail = "emails[type"\n', "attributes", ""),
    ],
)
def test_each_mistake_is_one_message_naming_the_key(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    (tmp_path / "pw").write_text("secret\n")
    message = error(tmp_path, MINIMAL + extra % {"file": tmp_path / "pw"})
    assert key in message and words in message
    assert message.count("; ") == 0  # one mistake, one message
    assert "hunter2" not in message


def test_urls_and_names(tmp_path: Path) -> None:
    bad_url = MINIMAL.replace('"ldaps://dc2.example.org/"', '"http://dc2"')
    assert "sources.ldap[0] (corp).urls" in error(tmp_path, bad_url)
    assert "two LDAP sources are named 'corp'" in error(tmp_path, MINIMAL + MINIMAL)
    no_base = "\n".join(line for line in MINIMAL.splitlines() if "base_dn" not in line)
    assert "(corp).base_dn" in error(tmp_path, no_base)
    no_pw = "\n".join(line for line in MINIMAL.splitlines() if "password" not in line)
    assert "bind_dn needs bind_password_env or bind_password_file" in error(tmp_path, no_pw)


def test_password_is_read_when_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, _ = load(tmp_path, MINIMAL)
    corp = settings.sources.ldap[0]
    monkeypatch.delenv("CORP_LDAP_PASSWORD", raising=False)
    with pytest.raises(LdapSettingError, match="CORP_LDAP_PASSWORD"):
        corp.password()
    monkeypatch.setenv("CORP_LDAP_PASSWORD", "s3cret")
    assert corp.password() == "s3cret"
    assert "s3cret" not in repr(corp) and "s3cret" not in corp.model_dump_json()
    (tmp_path / "pw").write_text("from-file\n")
    settings, _ = load(
        tmp_path,
        MINIMAL.replace(
            'bind_password_env = "CORP_LDAP_PASSWORD"', f'bind_password_file = "{tmp_path / "pw"}"'
        ),
    )
    assert settings.sources.ldap[0].password() == "from-file"


def test_schedules_and_guard() -> None:
    assert Schedule.parse("every 90s").interval_seconds == 90
    assert Schedule.parse("every 2h").interval_seconds == 7200
    assert Schedule.parse("*/15 * * * *").cron == "*/15 * * * *"
    assert not Schedule.parse("off").enabled
    with pytest.raises(ValueError, match="at least 10 seconds"):
        Schedule.parse("every 1s")
    guard = DeleteGuard(max_count=10, max_percent=20)
    assert guard.allows(0, 0)
    assert guard.allows(2, 10) and not guard.allows(3, 10)
    assert not guard.allows(11, 1000)
    assert not guard.allows(1, 0)  # nothing known: any removal needs a confirmation
    assert guard.allows(11, 1000, confirmed=11) and not guard.allows(12, 1000, confirmed=11)


def test_an_ldap_source_name_follows_the_rule_of_every_source_name(tmp_path: Path) -> None:
    from connector.services.sources import NAME_RULE

    message = error(tmp_path, MINIMAL.replace('name = "corp"', 'name = "bad name!"'))
    assert "sources.ldap[0]" in message and "name" in message and NAME_RULE in message
    too_long = MINIMAL.replace('name = "corp"', f'name = "{"c" * 65}"')
    assert NAME_RULE in error(tmp_path, too_long)
    longest = MINIMAL.replace('name = "corp"', f'name = "{"c" * 64}"')
    assert load(tmp_path, longest)[0].sources.ldap[0].name == "c" * 64

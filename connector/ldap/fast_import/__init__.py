"""The fast path of a large directory's full runs, in one place, behind one switch.

A first import of 100,000 entries would spend most of its time in generic code:
ldap3's BER decoder, SCIM validation of every user, SQLAlchemy's per-row binding
and ``json.dumps`` of every JSON column. The fast path replaces each of these by
work that follows from facts established once, and moves what needs no database
into a second process. Its modules, in the order a page goes through them:

- :mod:`.ldap3_receive` (the one patch of ldap3's internals) hands search
  entries to :mod:`.ber`, which reads them straight from their bytes;
- :mod:`.reader_process` reads (and on a first import maps) pages in a child
  process while this one writes;
- :mod:`.user_templates` validates each *shape* of user once and fills the
  validated template for later users of the shape (also making the JSON text);
- :mod:`.prepared` does a new user's database-free work ahead (ids, JSON text,
  contact fields) and renders the JSON text the writers splice;
- :mod:`.transfer` packs a mapped page for the pipe;
- :mod:`.import_plan` turns a first import's page into the rows the ordinary
  path would insert, and writes them only if what they assumed still holds.

The chain of assumptions, and where each is checked: a template's user is what
validation returns (the placeholder argument in :mod:`.user_templates`, property
test ``tests/unit/test_ldap_builder.py``); JSON text made around JSON text is what
``json.dumps`` writes (``tests/unit/test_import_rows.py``); a page's plan holds in
its transaction (:func:`.import_plan.write_plan`, else the page goes the ordinary
way); BER reading equals ldap3's (``tests/unit/test_ldap_ber.py`` and the slapd
test in ``tests/integration/test_ldap_sync.py``).

**The switch** is :func:`enabled`: a source's ``fast_import`` setting (default
true). Off, every run takes the plain path: ldap3 decodes every message, pages
are read and written in this process, and the user services validate every user
(the users and digests are the same: templates still make them, so stored
entries stay comparable). The integration tests run both ways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connector.ldap.settings import LdapSourceConfig


def enabled(cfg: LdapSourceConfig) -> bool:
    """Whether runs of this source take the fast path (the one place that decides)."""
    return cfg.fast_import

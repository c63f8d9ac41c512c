"""Unit tests for scim.filter: parsing into the typed tree and in-memory evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from scim.errors import InvalidFilter, ScimError
from scim.filter import (
    CORE_USER_URN,
    ENTERPRISE_URN,
    And,
    AttrRef,
    Compare,
    Not,
    Or,
    Present,
    ValuePath,
    matches,
    parse,
)
from scim.input_limits import MAX_FILTER_DEPTH, MAX_FILTER_TERMS

USER: dict[str, Any] = {
    "schemas": [CORE_USER_URN, ENTERPRISE_URN],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "ExtBJ-01",
    "userName": "BJensen",
    "active": True,
    "displayName": "Babs Jensen",
    "name": {"familyName": "Jensen", "givenName": "Barbara", "formatted": "Ms. Barbara J Jensen"},
    "emails": [
        {"type": "work", "value": "bjensen@example.com", "primary": True},
        {"type": "home", "value": "babs@jensen.org"},
    ],
    "phoneNumbers": [{"type": "work", "value": "555-555-5555"}],
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
    },
    ENTERPRISE_URN: {
        "department": "Tour Operations",
        "employeeNumber": "701984",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
    },
    "age": 42,
    "score": 1.5,
}


def m(text: str, resource: dict[str, Any] | None = None) -> bool:
    return matches(parse(text), USER if resource is None else resource)


def cmp(attr: str, op: str, value: Any, sub: str | None = None, uri: str | None = None) -> Compare:
    return Compare(AttrRef(attr=attr, sub=sub, uri=uri), op, value)


# ------------------------------------------------------------------ parsing


class TestParseTree:
    def test_simple_comparison(self) -> None:
        assert parse('userName eq "bjensen"') == cmp("userName", "eq", "bjensen")

    def test_present(self) -> None:
        assert parse("title pr") == Present(AttrRef("title"))

    @pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
    def test_every_comparison_operator(self, op: str) -> None:
        assert parse(f'userName {op} "x"') == cmp("userName", op, "x")

    @pytest.mark.parametrize("op", ["EQ", "Eq", "eQ"])
    def test_operator_is_case_insensitive(self, op: str) -> None:
        assert parse(f'userName {op} "x"') == cmp("userName", "eq", "x")

    def test_logical_operators_case_insensitive(self) -> None:
        tree = parse('a eq "1" AND b eq "2" Or NOT (c pr)')
        assert tree == Or(And(cmp("a", "eq", "1"), cmp("b", "eq", "2")), Not(Present(AttrRef("c"))))

    def test_sub_attribute(self) -> None:
        assert parse('name.familyName co "O\'Malley"') == cmp(
            "name", "co", "O'Malley", sub="familyName"
        )

    def test_enterprise_urn_prefix(self) -> None:
        tree = parse(f'{ENTERPRISE_URN}:department eq "Sales"')
        assert tree == cmp("department", "eq", "Sales", uri=ENTERPRISE_URN)
        assert tree.ref.dotted() == f"{ENTERPRISE_URN}:department"

    def test_enterprise_urn_with_sub_attribute(self) -> None:
        tree = parse(f'{ENTERPRISE_URN}:manager.displayName eq "John"')
        assert tree == cmp("manager", "eq", "John", sub="displayName", uri=ENTERPRISE_URN)
        assert tree.ref.dotted() == f"{ENTERPRISE_URN}:manager.displayName"

    def test_dotted_without_uri(self) -> None:
        assert AttrRef("name", "givenName").dotted() == "name.givenName"
        assert AttrRef("userName").dotted() == "userName"

    def test_value_path_with_logical_filter(self) -> None:
        tree = parse('emails[type eq "work" and value co "@example.com"]')
        assert tree == ValuePath(
            AttrRef("emails"),
            And(cmp("type", "eq", "work"), cmp("value", "co", "@example.com")),
        )

    def test_value_path_followed_by_comparison(self) -> None:
        tree = parse('emails[type eq "work"].value eq "x"')
        assert tree == ValuePath(
            AttrRef("emails"), And(cmp("type", "eq", "work"), cmp("value", "eq", "x"))
        )

    def test_value_path_followed_by_other_sub_attribute(self) -> None:
        tree = parse('emails[type eq "work"].display sw "B"')
        assert tree == ValuePath(
            AttrRef("emails"), And(cmp("type", "eq", "work"), cmp("display", "sw", "B"))
        )

    def test_value_path_followed_by_present(self) -> None:
        tree = parse('emails[type eq "work"].value pr')
        assert tree == ValuePath(
            AttrRef("emails"), And(cmp("type", "eq", "work"), Present(AttrRef("value")))
        )

    def test_value_path_with_not_inside(self) -> None:
        tree = parse('emails[not (type eq "work")]')
        assert tree == ValuePath(AttrRef("emails"), Not(cmp("type", "eq", "work")))

    def test_value_path_combined_with_other_filter(self) -> None:
        tree = parse('emails[type eq "work"] and userName eq "x"')
        assert tree == And(
            ValuePath(AttrRef("emails"), cmp("type", "eq", "work")), cmp("userName", "eq", "x")
        )

    @pytest.mark.parametrize(
        ("literal", "expected"),
        [
            ("true", True),
            ("false", False),
            ("null", None),
            ("0", 0),
            ("7", 7),
            ("123", 123),
            ("-3", -3),
            ("1.5", 1.5),
            ("-0.25", -0.25),
            ("1e3", 1000),
            ("1E+2", 100),
            ('"true"', "true"),
            ('"null"', "null"),
            ('"42"', "42"),
            ('""', ""),
        ],
    )
    def test_literals(self, literal: str, expected: Any) -> None:
        tree = parse(f"x eq {literal}")
        assert isinstance(tree, Compare)
        assert tree.value == expected
        assert type(tree.value) is type(expected)

    def test_decimal_with_integral_value_stays_float(self) -> None:
        tree = parse("x eq 2.0")
        assert isinstance(tree, Compare)
        assert tree.value == 2.0
        assert isinstance(tree.value, float)

    @pytest.mark.parametrize(
        ("literal", "expected"),
        [
            (r'"a\"b"', 'a"b'),
            (r'"back\\slash"', "back\\slash"),
            (r'"tab\there"', "tab\there"),
            (r'"line\nbreak"', "line\nbreak"),
            (r'"\u00e9t\u00e9"', "été"),
            (r'"\/"', "/"),
            ('"日本語"', "日本語"),
            ('"a and b or not (c)"', "a and b or not (c)"),
            ('"[x]"', "[x]"),
        ],
    )
    def test_string_escapes(self, literal: str, expected: str) -> None:
        tree = parse(f"userName eq {literal}")
        assert isinstance(tree, Compare)
        assert tree.value == expected

    @pytest.mark.parametrize("name", ["notes", "order", "android", "press", "equal", "coffee"])
    def test_attribute_names_starting_with_keywords(self, name: str) -> None:
        assert parse(f"{name} pr") == Present(AttrRef(name))

    @pytest.mark.parametrize("name", ["nullable", "trueValue", "falsePositives"])
    def test_attribute_names_starting_with_literals(self, name: str) -> None:
        assert parse(f"{name} eq 1") == cmp(name, "eq", 1)

    def test_large_integer_literal_keeps_precision(self) -> None:
        tree = parse("x eq 12345678901234567890")
        assert isinstance(tree, Compare)
        assert tree.value == 12345678901234567890


class TestPrecedence:
    def test_and_chain_is_left_associative(self) -> None:
        assert parse("a eq 1 and b eq 2 and c eq 3") == And(
            And(cmp("a", "eq", 1), cmp("b", "eq", 2)), cmp("c", "eq", 3)
        )

    def test_or_chain(self) -> None:
        assert parse("a eq 1 or b eq 2 or c eq 3") == Or(
            Or(cmp("a", "eq", 1), cmp("b", "eq", 2)), cmp("c", "eq", 3)
        )

    def test_and_before_or_when_and_comes_first(self) -> None:
        assert parse("a eq 1 and b eq 2 or c eq 3") == Or(
            And(cmp("a", "eq", 1), cmp("b", "eq", 2)), cmp("c", "eq", 3)
        )

    def test_and_binds_tighter_than_or(self) -> None:
        assert parse("a eq 1 or b eq 2 and c eq 3") == Or(
            cmp("a", "eq", 1), And(cmp("b", "eq", 2), cmp("c", "eq", 3))
        )

    def test_and_binds_tighter_than_or_when_evaluating(self) -> None:
        # RFC: userName eq "bjensen" or (userName eq "nobody" and active eq false) -> True
        assert m('userName eq "bjensen" or userName eq "nobody" and active eq false')

    def test_grouping_overrides_precedence(self) -> None:
        tree = parse("a eq 1 and (b eq 2 or c eq 3)")
        assert tree == And(cmp("a", "eq", 1), Or(cmp("b", "eq", 2), cmp("c", "eq", 3)))
        assert not m('userName eq "nobody" and (active eq true or active eq false)')
        assert m('(userName eq "nobody" or active eq true) and displayName pr')

    def test_not_binds_to_its_group(self) -> None:
        tree = parse("not (a eq 1) and b eq 2")
        assert tree == And(Not(cmp("a", "eq", 1)), cmp("b", "eq", 2))

    def test_not_of_group(self) -> None:
        tree = parse("not (a eq 1 or b eq 2)")
        assert tree == Not(Or(cmp("a", "eq", 1), cmp("b", "eq", 2)))

    def test_redundant_parentheses(self) -> None:
        assert parse('((userName eq "x"))') == cmp("userName", "eq", "x")


class TestInvalidFilters:
    @pytest.mark.parametrize("text", ["", "   ", "\t\n"])
    def test_empty_filter(self, text: str) -> None:
        with pytest.raises(InvalidFilter) as info:
            parse(text)
        assert info.value.scim_type == "invalidFilter"
        assert info.value.status == 400
        assert "empty" in info.value.message

    @pytest.mark.parametrize(
        "text",
        [
            "userName",
            "userName eq",
            'userName foo "x"',
            'eq "x"',
            '(userName eq "a"',
            'userName eq "a")',
            'userName eq "a" and',
            'or userName eq "a"',
            'emails[type eq "work"',
            'emails[type eq "work"]]',
            'userName eq "unterminated',
            'userName eq "bad \\x escape"',
            "userName eq bjensen",
            'userName eq "a" userName eq "b"',
            'not userName eq "a"',
            '[type eq "x"]',
            "x eq True",
            "x eq NULL",
            'userName eq "a" && active eq true',
            "emails[]",
            'userName pr "x"',
        ],
    )
    def test_invalid_filter_raises(self, text: str) -> None:
        with pytest.raises(InvalidFilter) as info:
            parse(text)
        assert info.value.scim_type == "invalidFilter"
        assert isinstance(info.value, ScimError)
        assert isinstance(info.value, ValueError)
        assert info.value.message

    def test_message_quotes_the_filter(self) -> None:
        with pytest.raises(InvalidFilter, match="userName foo"):
            parse('userName foo "x"')

    def test_bad_escape_names_literal(self) -> None:
        with pytest.raises(InvalidFilter, match="string literal"):
            parse('userName eq "bad \\q"')


# --------------------------------------------------------------- evaluation


class TestOperators:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('userName eq "bjensen"', True),
            ('userName eq "BJENSEN"', True),
            ('userName eq "bjense"', False),
            ('userName ne "bjensen"', False),
            ('userName ne "someone"', True),
            ('userName co "JENS"', True),
            ('userName co "xyz"', False),
            ('userName sw "bj"', True),
            ('userName sw "jensen"', False),
            ('userName ew "SEN"', True),
            ('userName ew "bj"', False),
            ('userName gt "a"', True),
            ('userName gt "bjensen"', False),
            ('userName ge "BJENSEN"', True),
            ('userName lt "c"', True),
            ('userName lt "bjensen"', False),
            ('userName le "bjensen"', True),
            ('userName le "a"', False),
        ],
    )
    def test_string_operators(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("age eq 42", True),
            ("age eq 42.0", True),
            ("age ne 42", False),
            ("age gt 41", True),
            ("age gt 42", False),
            ("age ge 42", True),
            ("age lt 42", False),
            ("age lt 43", True),
            ("age le 42", True),
            ("age le 41.9", False),
            ("score eq 1.5", True),
            ("score gt 1", True),
            ("score lt -1", False),
            ('age eq "42"', False),
            ('age ne "42"', True),
            ('age co "4"', False),
        ],
    )
    def test_number_operators(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("title pr", False),
            ("displayName pr", True),
            ("name pr", True),
            ("emails pr", True),
            ("phoneNumbers pr", True),
            ("ims pr", False),
            ("active pr", True),
            ("name.givenName pr", True),
            ("name.middleName pr", False),
            ("meta.lastModified pr", True),
        ],
    )
    def test_present(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    @pytest.mark.parametrize(
        "resource",
        [
            {"title": ""},
            {"title": None},
            {"emails": []},
            {"name": {}},
        ],
    )
    def test_empty_values_are_not_present(self, resource: dict[str, Any]) -> None:
        attr = next(iter(resource))
        assert not m(f"{attr} pr", resource)

    def test_absent_attribute(self) -> None:
        assert not m('title eq "x"')
        assert m('title ne "x"')
        assert not m('title co "x"')
        assert not m('title gt "a"')
        assert not m("title pr")


class TestCaseSensitivity:
    def test_attribute_names_case_insensitive(self) -> None:
        assert m('USERNAME eq "bjensen"')
        assert m('NAME.FAMILYNAME eq "jensen"')
        assert m('Emails[TYPE eq "WORK"].VALUE co "EXAMPLE"')

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('id eq "2819c223-7f76-453a-919d-413861904646"', True),
            ('id eq "2819C223-7F76-453A-919D-413861904646"', False),
            ('externalId eq "ExtBJ-01"', True),
            ('externalId eq "extbj-01"', False),
            ('externalId ne "extbj-01"', True),
            ('externalId sw "Ext"', True),
            ('externalId sw "ext"', False),
            ('externalId co "BJ"', True),
            ('externalId co "bj"', False),
            ('externalId ew "-01"', True),
        ],
    )
    def test_case_exact_attributes(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    @pytest.mark.parametrize(
        "text", ['externalid eq "extbj-01"', 'ID eq "2819C223-7F76-453A-919D-413861904646"']
    )
    def test_case_exact_regardless_of_attribute_name_case(self, text: str) -> None:
        assert not m(text)

    def test_value_sub_attribute_is_case_insensitive(self) -> None:
        assert m('emails[value eq "BJENSEN@EXAMPLE.COM"]')

    def test_non_ascii_case_folding(self) -> None:
        resource = {"userName": "Jörg"}
        assert m('userName eq "JÖRG"', resource)
        assert m('userName eq "j\\u00f6rg"', resource)
        assert not m('userName eq "jorg"', resource)


class TestBooleansAndNull:
    @pytest.mark.parametrize(
        ("text", "active", "expected"),
        [
            ("active eq true", True, True),
            ("active eq true", False, False),
            ("active eq false", False, True),
            ("active ne true", False, True),
            ("active ne false", False, False),
            ("active eq true", "True", True),
            ("active eq false", "FALSE", True),
            ("active eq true", "False", False),
            ("active gt false", True, False),
            ("active co true", True, False),
        ],
    )
    def test_booleans(self, text: str, active: Any, expected: bool) -> None:
        assert m(text, {"active": active}) is expected

    def test_boolean_not_equal_to_string_literal(self) -> None:
        assert not m('active eq "yes"', {"active": True})

    @pytest.mark.parametrize(
        ("text", "resource"),
        [("active eq 1", {"active": True}), ("count eq true", {"count": 1})],
    )
    def test_boolean_not_confused_with_number(self, text: str, resource: dict[str, Any]) -> None:
        assert not m(text, resource)

    def test_boolean_against_other_number(self) -> None:
        assert not m("active eq 2", {"active": True})
        assert not m("count eq true", {"count": 5})

    def test_absent_boolean(self) -> None:
        assert not m("active eq true", {})
        assert not m("active eq false", {})
        assert m("active ne true", {})

    def test_null(self) -> None:
        assert m("title eq null", {"userName": "x"})
        assert m("title eq null", {"title": None})
        assert not m("title eq null", {"title": "Boss"})
        assert m("title ne null", {"title": "Boss"})

    def test_ne_null_does_not_match_absent(self) -> None:
        assert not m("title ne null", {"userName": "x"})


class TestComplexAndMultiValued:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('emails[type eq "work" and value co "@example.com"]', True),
            ('emails[type eq "home" and value co "@example.com"]', False),
            ('emails[type eq "work" or type eq "other"]', True),
            ('emails[type eq "other"]', False),
            ('emails[type eq "work"].value eq "bjensen@example.com"', True),
            ('emails[type eq "work"].value eq "BJENSEN@EXAMPLE.COM"', True),
            ('emails[type eq "home"].value eq "bjensen@example.com"', False),
            ('emails[type eq "home"].value ew ".org"', True),
            ('emails[type eq "work"].value pr', True),
            ('emails[type eq "fax"].value pr', False),
            ('emails[primary eq true].value sw "bjensen"', True),
            ('emails[primary eq true].value sw "babs"', False),
            ('emails[not (type eq "work")].value sw "babs"', True),
            ('emails co "jensen.org"', True),
            ('emails eq "babs@jensen.org"', True),
            ('emails.value eq "babs@jensen.org"', True),
            ('emails.value ne "babs@jensen.org"', False),
            ('emails.value ne "nobody@x.org"', True),
            ('emails.type eq "HOME"', True),
            ('phoneNumbers[type eq "work"].value eq "555-555-5555"', True),
            ('phoneNumbers[type eq "work"].value eq "555"', False),
        ],
    )
    def test_multi_valued(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    def test_value_filter_requires_same_item(self) -> None:
        # type matches one item and value the other: no single item matches both.
        assert not m('emails[type eq "home" and value eq "bjensen@example.com"]')

    def test_value_path_present_ignores_empty_value(self) -> None:
        resource = {"emails": [{"type": "work", "value": ""}, {"type": "home", "value": "h"}]}
        assert not m('emails[type eq "work"].value pr', resource)
        assert m('emails[type eq "home"].value pr', resource)

    def test_value_path_on_single_complex_value(self) -> None:
        resource = {"emails": {"type": "work", "value": "a@b.c"}}
        assert m('emails[type eq "work"]', resource)

    def test_value_path_on_missing_attribute(self) -> None:
        assert not m('emails[type eq "work"]', {"userName": "x"})
        assert m('not (emails[type eq "work"])', {"userName": "x"})

    def test_value_path_ignores_non_dict_items(self) -> None:
        assert not m('emails[type eq "work"]', {"emails": ["work", None]})

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('name.familyName eq "jensen"', True),
            ('name.givenName sw "Bar"', True),
            ('name.familyName eq "smith"', False),
            ('name.middleName eq "x"', False),
            ('name.formatted co "j jensen"', True),
            ('meta.resourceType eq "User"', True),
        ],
    )
    def test_sub_attributes(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    def test_complex_attribute_without_value_does_not_equal_string(self) -> None:
        assert not m('name eq "Jensen"')


class TestEnterpriseExtension:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f'{ENTERPRISE_URN}:department eq "tour operations"', True),
            (f'{ENTERPRISE_URN}:department eq "sales"', False),
            (f'{ENTERPRISE_URN}:department sw "Tour"', True),
            (f"{ENTERPRISE_URN}:employeeNumber eq 701984", False),
            (f'{ENTERPRISE_URN}:employeeNumber eq "701984"', True),
            (f"{ENTERPRISE_URN}:department pr", True),
            (f"{ENTERPRISE_URN}:costCenter pr", False),
            (f'{ENTERPRISE_URN}:manager.displayName eq "john smith"', True),
            (f'{ENTERPRISE_URN}:manager.value sw "26118915"', True),
            (f'{ENTERPRISE_URN.lower()}:department eq "Tour Operations"', True),
        ],
    )
    def test_extension_attributes(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    def test_extension_attribute_not_found_at_top_level(self) -> None:
        resource = {"department": "Tour Operations"}
        assert not m(f'{ENTERPRISE_URN}:department eq "Tour Operations"', resource)
        assert not m(f"{ENTERPRISE_URN}:department pr", resource)

    def test_extension_container_not_an_object(self) -> None:
        assert not m(f"{ENTERPRISE_URN}:department pr", {ENTERPRISE_URN: "x"})

    def test_core_urn_prefix_addresses_top_level(self) -> None:
        assert m(f'{CORE_USER_URN}:userName eq "bjensen"')
        assert m(f'{CORE_USER_URN}:name.familyName eq "Jensen"')
        assert not m(f'{CORE_USER_URN}:userName eq "other"')


class TestDatetimes:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('meta.lastModified gt "2011-05-13T04:42:33Z"', True),
            ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
            ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
            ('meta.lastModified lt "2011-05-13T04:42:35Z"', True),
            ('meta.lastModified lt "2011-05-13T04:42:34Z"', False),
            ('meta.lastModified le "2011-05-13T04:42:34Z"', True),
            ('meta.lastModified eq "2011-05-13T04:42:34Z"', True),
            ('meta.lastModified gt "2010-12-31T23:59:59Z"', True),
            ('meta.lastModified lt "2012-01-01T00:00:00.000Z"', True),
            # Same instant in another offset: compared as instants, not text.
            ('meta.lastModified ge "2011-05-13T06:42:34+02:00"', True),
            ('meta.lastModified le "2011-05-13T06:42:34+02:00"', True),
            ('meta.lastModified gt "2011-05-13T06:42:33+02:00"', True),
            ('meta.lastModified lt "2011-05-13T05:42:34+02:00"', False),
            ('meta.created lt "2011-01-01T00:00:00Z"', True),
        ],
    )
    def test_last_modified(self, text: str, expected: bool) -> None:
        assert m(text) is expected

    def test_instant_comparison_differs_from_text_comparison(self) -> None:
        # As text "2011-05-13T04..." < "2011-05-13T05...", but as instants it is later.
        resource = {"meta": {"lastModified": "2011-05-13T04:00:00Z"}}
        assert m('meta.lastModified gt "2011-05-13T05:00:00+02:00"', resource)

    def test_naive_and_aware_fall_back_to_text(self) -> None:
        resource = {"meta": {"lastModified": "2011-05-13T04:42:34Z"}}
        # A naive literal cannot be compared with an aware timestamp; text order applies.
        assert m('meta.lastModified gt "2011-05-13T04:42:33"', resource)


class TestLogical:
    def test_and(self) -> None:
        assert m('userName eq "bjensen" and active eq true')
        assert not m('userName eq "bjensen" and active eq false')

    def test_or(self) -> None:
        assert m('userName eq "nobody" or active eq true')
        assert not m('userName eq "nobody" or active eq false')

    def test_not(self) -> None:
        assert m('not (userName eq "nobody")')
        assert not m('not (userName eq "bjensen")')
        assert m('not (not (userName eq "bjensen"))')

    def test_nested_value_paths_in_logic(self) -> None:
        assert m(
            'emails[type eq "work"].value co "example" and emails[type eq "home"].value co "jensen"'
        )
        assert not m(
            'emails[type eq "work"].value co "jensen.org"'
            ' or emails[type eq "home"].value co "example"'
        )


def test_filters_deeper_than_the_limit_are_refused_saying_so() -> None:
    with pytest.raises(InvalidFilter, match=f"deeper than {MAX_FILTER_DEPTH}"):
        parse("(" * 1000 + 'userName eq "a"' + ")" * 1000)
    with pytest.raises(InvalidFilter, match="deeper"):
        parse("emails[" * 40 + 'value eq "a"' + "]" * 40)
    deepest = "not (" * (MAX_FILTER_DEPTH - 1) + '(userName eq "a")' + ")" * (MAX_FILTER_DEPTH - 1)
    assert matches(parse(deepest), {"userName": "b"}) is ((MAX_FILTER_DEPTH - 1) % 2 == 1)


def test_filters_with_more_terms_than_the_limit_are_refused_saying_so() -> None:
    with pytest.raises(InvalidFilter, match=f"more than {MAX_FILTER_TERMS}"):
        parse(" or ".join(['userName eq "a"'] * 1001))
    longest = " or ".join(f'userName eq "{i}"' for i in range(MAX_FILTER_TERMS))
    assert matches(parse(longest), {"userName": str(MAX_FILTER_TERMS - 1)})

"""Label selectors in kubectl's syntax: parsing, matching, and what is refused."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe import errors
from syncpipe.config import selectorsyntax
from syncpipe.config.selectorsyntax import LabelSelector, Operator, Requirement

_NAME = st.from_regex(r"[a-z0-9]([-a-z0-9_.]{0,10}[a-z0-9])?", fullmatch=True)
_KEYS = st.one_of(_NAME, st.builds(lambda p, n: f"{p}.io/{n}", _NAME.filter(str.isalnum), _NAME))
_VALUES = st.one_of(st.just(""), _NAME)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(_KEYS)
    operator = draw(st.sampled_from(Operator))
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        return Requirement(key, operator)
    if operator in (Operator.IN, Operator.NOT_IN):
        return Requirement(key, operator, tuple(draw(st.lists(_VALUES, min_size=1, max_size=3))))
    if operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        return Requirement(key, operator, (str(draw(st.integers(-99, 99))),))
    return Requirement(key, operator, (draw(_VALUES),))


@given(st.lists(requirements(), max_size=4))
def test_a_selector_written_back_parses_to_itself(reqs):
    selector = LabelSelector(tuple(reqs))
    assert selectorsyntax.parse(str(selector)) == selector


@given(st.text(alphabet="ab=!(),<> in notin/.-_1", max_size=30))
def test_any_text_parses_or_is_refused_as_a_config_error(text):
    with contextlib.suppress(errors.ConfigError):
        selectorsyntax.parse(text)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {}, True),
        ("edge=one", {"edge": "one"}, True),
        ("edge==one", {"edge": "two"}, False),
        ("edge!=one", {}, True),
        ("edge in (one, two)", {"edge": "two"}, True),
        ("edge notin (one,two)", {"edge": "two"}, False),
        ("edge", {"edge": ""}, True),
        ("!edge", {"edge": ""}, False),
        ("tier>2", {"tier": "3"}, True),
        ("tier<2", {"tier": "x"}, False),
        ("region=eu, example.com/edge=one", {"region": "eu", "example.com/edge": "one"}, True),
        ("region=eu,edge=one", {"region": "eu"}, False),
    ],
)
def test_selectors_match_as_kubectl_selects(text, labels, expected):
    assert selectorsyntax.parse(text).matches(labels) is expected


@pytest.mark.parametrize(
    "text",
    [
        "edge=",  # an empty value is allowed...
        " edge = one , region in ( eu , us ) ",  # ...and whitespace between tokens
    ],
)
def test_valid_edge_cases_are_accepted(text):
    selectorsyntax.parse(text)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("edge=one,", "expected a label key"),
        ("edge in one", "expected '('"),
        ("edge in (one", "value set"),
        ("-edge=one", "label key's name"),
        ("Example.com/edge=one", "DNS subdomain"),
        ("edge=a b", "expected ','"),
        ("edge=" + "x" * 64, "label value"),
        ("tier>high", "integer"),
        ("edge~one", "label key's name"),
    ],
)
def test_malformed_selectors_are_refused_naming_the_problem(text, complaint):
    with pytest.raises(errors.ConfigError, match=re.escape(complaint)):
        selectorsyntax.parse(text)

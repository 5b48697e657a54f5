"""Value checks for params.yaml: each returns None when the value is fine, else what was expected.
Each check also carries `expects`, the full text of what it accepts (the params reference prints it)."""
import numbers
from collections.abc import Mapping
from typing import Union


def _described(check, expects, kind=object):
    """check.expects: what it accepts, in words; check.kind: the Python type of an accepted value (the
    field type of src.config.tree's dataclasses; lists arrive there as tuples, mappings as Frozen)."""
    check.expects = expects
    check.kind = kind
    return check


def _bounds(low, high, low_open=False, high_open=False):
    low_text = "-inf" if low is None else low
    high_text = "inf" if high is None else high
    return f"{'(' if low_open else '['}{low_text}, {high_text}{')' if high_open else ']'}"


def integer(low=None, high=None):
    in_range = f"an integer in {_bounds(low, high)}"

    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer"
        if low is not None and value < low or high is not None and value > high:
            return in_range
    return _described(check, in_range if low is not None or high is not None else "an integer", int)


def number(low=None, high=None, low_open=False, high_open=False):
    in_range = f"a number in {_bounds(low, high, low_open, high_open)}"

    def check(value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "a number"
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            return in_range
    return _described(check, in_range if low is not None or high is not None else "a number", float)


def one_of(*choices):
    def check(value):
        if value not in choices:
            return f"one of {list(choices)}"
    kinds = {type(choice) for choice in choices}
    return _described(check, f"one of {list(choices)}", kinds.pop() if len(kinds) == 1 else object)


def text(value):
    if not isinstance(value, str):
        return "a string"


_described(text, "a string", str)


def mapping(value):
    if not isinstance(value, dict) or "name" not in value:
        return "a mapping with a 'name' key, e.g. {name: AdamW}"


_described(mapping, "a mapping with a 'name' key", Mapping)


def matches(pattern, expects):
    """A string matching the compiled regular expression `pattern`; `expects` says what in words."""
    def check(value):
        if not isinstance(value, str) or not pattern.match(value):
            return expects
    return _described(check, expects, str)


def non_empty_mapping(value):
    if not isinstance(value, dict) or not value:
        return "a non-empty mapping"


_described(non_empty_mapping, "a non-empty mapping", Mapping)


def list_of(item_check, length=None, unique=False):
    def check(value):
        if not isinstance(value, list) or length is not None and len(value) != length:
            return f"a list{f' of {length}' if length else ''}"
        for item in value:
            problem = item_check(item)
            if problem:
                return f"a list of {problem}s"
        if unique and len(set(map(repr, value))) != len(value):
            return "a list without repeats"
    size = "an empty list" if length == 0 else f"a list of {length}" if length else "a list"
    items = "" if length == 0 else f" x {item_check.expects}"
    return _described(check, f"{size}{items}{', no repeats' if unique else ''}", tuple)


def increasing(check_items):
    def check(value):
        problem = check_items(value)
        if problem:
            return problem
        if any(a >= b for a, b in zip(value, value[1:])):
            return "increasing values"
    return _described(check, f"{check_items.expects}, increasing", check_items.kind)


def either(*checks):
    def check(value):
        problems = [c(value) for c in checks]
        if all(problems):
            return " or ".join(problems)
    return _described(check, " or ".join(c.expects for c in checks), Union[tuple(c.kind for c in checks)])

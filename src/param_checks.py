"""Value checks for params.yaml: each returns None when the value is fine, else what was expected."""
import numbers


def integer(low=None, high=None):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer"
        if low is not None and value < low or high is not None and value > high:
            return f"an integer in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
    return check


def number(low=None, high=None, low_open=False, high_open=False):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "a number"
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            low_text = "-inf" if low is None else low
            high_text = "inf" if high is None else high
            return f"a number in {'(' if low_open else '['}{low_text}, {high_text}{')' if high_open else ']'}"
    return check


def one_of(*choices):
    def check(value):
        if value not in choices:
            return f"one of {list(choices)}"
    return check


def text(value):
    if not isinstance(value, str):
        return "a string"


def mapping(value):
    if not isinstance(value, dict) or "name" not in value:
        return "a mapping with a 'name' key, e.g. {name: AdamW}"


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
    return check


def increasing(check_items):
    def check(value):
        problem = check_items(value)
        if problem:
            return problem
        if any(a >= b for a, b in zip(value, value[1:])):
            return "increasing values"
    return check


def either(*checks):
    def check(value):
        problems = [c(value) for c in checks]
        if all(problems):
            return " or ".join(problems)
    return check

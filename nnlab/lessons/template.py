"""Answer templates: `str.format`-style text filled from a lesson's facts, and nothing else.

Stage 6 (lessons) beside `facts.py`. A template is parsed with `string.Formatter().parse`; each field must be a
plain fact name, optionally `@preset` (that preset's run instead of the step's) and a format spec (`{zeros:.0%}`).
Attribute access, indexing, conversions and nested fields are refused, so a template can never reach code.
"""

from __future__ import annotations

import re
import string

FIELD = re.compile(r"^(?P<fact>[a-z_][a-z0-9_]*)(?:@(?P<preset>[A-Za-z0-9_-]+))?$")


class TemplateError(ValueError):
    """A template that cannot be used; the message says which field and why."""


def fields(template: str) -> list[tuple[str, str | None, str]]:
    """The (fact, preset or None, format spec) of every field of `template`; TemplateError if one is not allowed."""
    out = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:  # an unmatched brace
        raise TemplateError(f"{e} (write {{{{ and }}}} for a literal brace)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if conversion:
            raise TemplateError(f"{{{name}!{conversion}}}: conversions (!r, !s) are not allowed")
        match = FIELD.match(name)
        if not match:
            raise TemplateError(f"{{{name}}} is not a plain fact name (no dots, brackets or spaces)")
        if "{" in (spec or ""):
            raise TemplateError(f"{{{name}:{spec}}}: a format spec cannot hold another field")
        out.append((match["fact"], match["preset"], spec or ""))
    return out


def show(value, spec: str) -> str:
    """One fact as text: `format(value, spec)`; None reads "none"; a spec that does not fit the value is ignored."""
    if value is None:
        return "none"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def render(template: str, lookup) -> str:
    """`template` with each field replaced by `show(lookup(fact, preset), spec)`."""
    out = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            match = FIELD.match(name)
            if not match:
                raise TemplateError(f"{{{name}}} is not a plain fact name")
            out.append(show(lookup(match["fact"], match["preset"]), spec or ""))
    return "".join(out)

"""The programs the local server "synthesises": deterministic and demo-worthy.

For an output schema that is an enum of labels, a small keyword and
example-based classifier; otherwise a value that fits the output schema.
Users can register their own function per task name instead.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Program", "classify", "synthesize_program", "value_for_schema"]

#: A program: input object to output value; may be async.  Exceptions become failed executions.
Program = Callable[[dict[str, Any]], Any | Awaitable[Any]]

_WORD = re.compile(r"[a-z0-9]+")
_LEXICON: dict[str, frozenset[str]] = {
    "spam": frozenset(
        [
            "buy",
            "free",
            "money",
            "cash",
            "winner",
            "win",
            "prize",
            "offer",
            "urgent",
            "click",
            "now",
            "cheap",
            "deal",
            "credit",
            "discount",
            "guaranteed",
            "limited",
            "bonus",
            "claim",
            "congratulations",
            "lottery",
            "viagra",
        ]
    ),
    "positive": frozenset(
        ["good", "great", "excellent", "love", "happy", "wonderful", "amazing", "best", "nice"]
    ),
    "negative": frozenset(["bad", "terrible", "awful", "hate", "sad", "worst", "poor", "horrible", "angry"]),
    "urgent": frozenset(["urgent", "asap", "immediately", "now", "critical", "emergency"]),
}
_FALLBACK_PREFIXES = ("not_", "not-", "non", "no_", "ham", "neutral", "other", "normal", "legit")


def _words(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [word for item in value.values() for word in _words(item)]
    if isinstance(value, list):
        return [word for item in value for word in _words(item)]
    return _WORD.findall(str(value).lower())


def classify(labels: list[Any], examples: list[Any], data: dict[str, Any]) -> Any:
    """Pick a label for ``data``: nearest example by shared words, else keyword scores."""
    words = set(_words(data))
    best: tuple[int, Any] | None = None
    for example in examples:
        if not isinstance(example, dict) or example.get("output") not in labels:
            continue
        overlap = len(words & set(_words(example.get("input", {}))))
        if overlap and (best is None or overlap > best[0]):
            best = (overlap, example["output"])
    if best is not None:
        return best[1]
    scores = []
    for label in labels:
        name = str(label).lower()
        lexicon = _LEXICON.get(name, frozenset())
        hits = sum(1 for word in words if word in lexicon or word == name)
        scores.append(hits)
    if max(scores, default=0) > 0:
        return labels[scores.index(max(scores))]
    for label in labels:
        if str(label).lower().startswith(_FALLBACK_PREFIXES):
            return label
    return labels[0]


def value_for_schema(schema: Any) -> Any:
    """A deterministic value that fits a JSON Schema (its const, default, enum or type)."""
    if not isinstance(schema, dict):
        return None
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties", {})
        required = schema.get("required", list(properties))
        return {name: value_for_schema(properties.get(name, {})) for name in required}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [value_for_schema(schema.get("items", {})) for _ in range(count)]
    if kind == "string":
        return "x" * int(schema.get("minLength", 0)) or "result"
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None


def synthesize_program(output_schema: dict[str, Any], examples: list[Any]) -> tuple[Program, str]:
    """The built-in program for a task, and its source text for the artifact."""
    labels = output_schema.get("enum")
    if isinstance(labels, list) and labels:
        chosen = list(labels)

        def classifier(data: dict[str, Any]) -> Any:
            return classify(chosen, examples, data)

        return classifier, f"// keyword classifier over {chosen!r}\nexport default classify;\n"
    value = value_for_schema(output_schema)

    def constant(_: dict[str, Any]) -> Any:
        return value

    return constant, f"// returns a value of the output schema\nexport default () => ({value!r});\n"

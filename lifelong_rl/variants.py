"""Variants are nested dicts, declared by a schema: every key has a type, a range or choices, and a
one-line doc. An unknown or misspelled key, an ill-typed value or one out of range is a
ConfigError naming the key and what is valid (no silent **kwargs sinks)."""
from __future__ import annotations

import ast
import copy
import difflib
import itertools
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple


class ConfigError(ValueError):
    """Bad user input in a variant or on the command line (reported in one line, exit code 2)."""


TYPES = ("int", "float", "bool", "str", "ints", "floats", "strs", "float?")


@dataclass(frozen=True)
class Param:
    """One variant key. type: int, float, bool, str, ints (a list of ints), strs (a list of strings,
    maybe empty; on the command line comma-separated), floats (a list of finite floats, maybe empty),
    float? (a float or None).
    low / high: inclusive bounds; choices: the valid values; pattern: a regex a str must match."""
    default: Any
    doc: str
    type: str
    low: Optional[float] = None
    high: Optional[float] = None
    choices: Tuple[Any, ...] = ()
    pattern: str = ""

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        kind = {"ints": "a list of ints like [256,256]", "floats": "a list of floats like [2.0,-1.0]", "strs": "a list of names like a,b", "float?": "a float or None"}.get(self.type, f"a{'n' if self.type == 'int' else ''} {self.type}")
        bounds = [f">= {self.low:g}" if self.low is not None else "", f"<= {self.high:g}" if self.high is not None else ""]
        return kind + "".join(f" {b}" for b in bounds if b)

    def check(self, value: Any, key: str) -> Any:
        """`value` if it fits this key (ints widened to float where a float is declared), else ConfigError."""
        t = self.type
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            "float?": value is None or isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
            "ints": isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value),
            "floats": isinstance(value, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value),
            "strs": isinstance(value, (list, tuple)) and all(isinstance(x, str) and x for x in value),
        }[t]
        if ok and t in ("float", "float?") and value is not None:
            value = float(value)
        if ok and self.low is not None and value is not None and t in ("int", "float", "float?"):
            ok = value >= self.low
        if ok and self.high is not None and value is not None and t in ("int", "float", "float?"):
            ok = value <= self.high
        if ok and self.choices:
            ok = value in self.choices
        if ok and self.pattern:
            ok = re.fullmatch(self.pattern, value) is not None
        if not ok:
            raise ConfigError(f"bad value {value!r} for '{key}': expected {self.describe()}")
        if t == "floats":
            return [float(x) for x in value]
        return list(value) if t in ("ints", "strs") else value

    def parse(self, text: str, key: str) -> Any:
        """A command-line value, typed by this key."""
        t, s = self.type, text.strip()
        try:
            if t == "bool":
                low = s.lower()
                value: Any = True if low in ("1", "true", "yes", "on") else False if low in ("0", "false", "no", "off") else text
            elif t == "int":
                f = float(s)  # accepts 1e6
                value = int(f) if math.isfinite(f) and f == int(f) else text
            elif t in ("float", "float?"):
                value = None if t == "float?" and s.lower() in ("none", "null", "") else float(s)
            elif t in ("ints", "floats"):
                value = ast.literal_eval(s)
            elif t == "strs":
                value = [x.strip() for x in s.strip("[]").split(",") if x.strip()]
            else:
                value = text
        except (ValueError, SyntaxError, OverflowError):
            value = text
        return self.check(value, key)


Schema = Dict[str, Any]  # nested: key -> Param or Schema


def defaults(schema: Schema) -> Dict[str, Any]:
    """The default variant of a schema."""
    return {k: defaults(p) if isinstance(p, dict) else copy.deepcopy(p.default) for k, p in schema.items()}


def _valid_keys_msg(path: str, bad: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    close = difflib.get_close_matches(bad, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    where = f"{path}/" if path else ""
    return f"unknown variant key '{where}{bad}'{hint}; valid keys{' under ' + path if path else ''}: {', '.join(valid)}"


# Recorded by the launcher (which sweep values made this variant); copied as they are.
RECORD_KEYS = ("sweep_point",)


def merge_variant(default: Dict[str, Any], overrides: Dict[str, Any], path: str = "") -> Dict[str, Any]:
    """A copy of `default` with `overrides` applied, rejecting keys the default does not have."""
    out = copy.deepcopy(default)
    for k, v in overrides.items():
        if k not in default:
            raise ConfigError(_valid_keys_msg(path, k, default.keys()))
        if not path and k in RECORD_KEYS:
            out[k] = copy.deepcopy(v)
        elif isinstance(default[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"variant key '{path + '/' if path else ''}{k}' is a group, got {type(v).__name__}")
            out[k] = merge_variant(default[k], v, f"{path}/{k}" if path else k)
        else:
            out[k] = copy.deepcopy(v)
    return out


def check_variant(variant: Dict[str, Any], schema: Schema, path: str = "") -> None:
    """Every value of a complete variant against its declared type, range and choices (in place:
    ints become floats where floats are declared)."""
    for k, p in schema.items():
        key = f"{path}/{k}" if path else k
        if isinstance(p, dict):
            check_variant(variant[k], p, key)
        else:
            variant[k] = p.check(variant[k], key)


def lookup(schema: Schema, key_path: str) -> Param:
    """The Param at 'a/b/c', or ConfigError naming the valid keys."""
    parts = [p for p in key_path.split("/") if p]
    if not parts:
        raise ConfigError(f"empty variant key in '{key_path}'")
    node, path = schema, ""
    for p in parts[:-1]:
        if p not in node or not isinstance(node[p], dict):
            raise ConfigError(_valid_keys_msg(path, p, [k for k, v in node.items() if isinstance(v, dict)]))
        node, path = node[p], f"{path}/{p}" if path else p
    if parts[-1] not in node:
        raise ConfigError(_valid_keys_msg(path, parts[-1], node.keys()))
    if isinstance(node[parts[-1]], dict):
        raise ConfigError(f"variant key '{key_path}' is a group; set one of its keys: {', '.join(sorted(node[parts[-1]]))}")
    return node[parts[-1]]


def has_key(schema: Schema, key_path: str) -> bool:
    try:
        lookup(schema, key_path)
        return True
    except ConfigError:
        return False


def set_path(variant: Dict[str, Any], key_path: str, value: Any) -> None:
    parts = [p for p in key_path.split("/") if p]
    node = variant
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value


def parse_assignment(text: str, schema: Schema) -> Tuple[str, str, Param]:
    if "=" not in text:
        raise ConfigError(f"expected key/path=value, got '{text}'")
    key, value = text.split("=", 1)
    key = key.strip()
    return key, value, lookup(schema, key)


def apply_set(variant: Dict[str, Any], schema: Schema, assignment: str) -> None:
    key, text, param = parse_assignment(assignment, schema)
    set_path(variant, key, param.parse(text, key))


def parse_sweep(assignment: str, schema: Schema) -> Tuple[str, List[Any]]:
    """'a/b=1,2,3' -> ('a/b', [1, 2, 3]), each typed by the schema. Lists: use ';' between values."""
    key, text, param = parse_assignment(assignment, schema)
    sep = ";" if param.type in ("ints", "floats", "strs") else ","
    values = [param.parse(t, key) for t in text.split(sep) if t.strip() != ""]
    if not values:
        raise ConfigError(f"sweep '{assignment}' has no values")
    return key, values


def expand_sweep(variant: Dict[str, Any], sweep_values: Dict[str, List[Any]], seeds: List[int]) -> List[Dict[str, Any]]:
    """The Cartesian product of sweep values, times seeds; each variant records its sweep point."""
    keys = list(sweep_values)
    out = []
    for combo in itertools.product(*(sweep_values[k] for k in keys)):
        for seed in seeds:
            v = copy.deepcopy(variant)
            for k, val in zip(keys, combo):
                set_path(v, k, copy.deepcopy(val))
            v["seed"] = seed
            v["sweep_point"] = {k: val for k, val in zip(keys, combo)}
            out.append(v)
    return out

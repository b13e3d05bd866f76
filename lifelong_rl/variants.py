"""Variants are nested dicts. Every key must exist in the algorithm's default variant: an unknown
or misspelled key is an error naming it and the valid keys (no silent **kwargs sinks)."""
from __future__ import annotations

import ast
import copy
import difflib
import itertools
from typing import Any, Dict, Iterable, List, Tuple


class ConfigError(ValueError):
    """Bad user input in a variant or on the command line (reported in one line, exit code 2)."""


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
                raise ConfigError(f"variant key '{path + '/' if path else ''}{k}' must be a dict, got {type(v).__name__}")
            out[k] = merge_variant(default[k], v, f"{path}/{k}" if path else k)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _lookup(default: Dict[str, Any], key_path: str) -> Tuple[List[str], Any]:
    parts = [p for p in key_path.split("/") if p]
    if not parts:
        raise ConfigError(f"empty variant key in '{key_path}'")
    node, path = default, ""
    for p in parts[:-1]:
        if not isinstance(node, dict) or p not in node or not isinstance(node[p], dict):
            raise ConfigError(_valid_keys_msg(path, p, [k for k, v in node.items() if isinstance(v, dict)]))
        node, path = node[p], f"{path}/{p}" if path else p
    if parts[-1] not in node:
        raise ConfigError(_valid_keys_msg(path, parts[-1], node.keys()))
    if isinstance(node[parts[-1]], dict):
        raise ConfigError(f"variant key '{key_path}' is a group; set one of its keys: {', '.join(sorted(node[parts[-1]]))}")
    return parts, node[parts[-1]]


def parse_value(text: str, like: Any, key: str) -> Any:
    """Parse a command-line value with the type of the default value `like`."""
    try:
        if isinstance(like, bool):
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(like, int):
            v = float(text)  # accepts 1e6
            if v != int(v):
                raise ValueError
            return int(v)
        if isinstance(like, float):
            return float(text)
        if isinstance(like, str):
            return text
        if isinstance(like, (list, tuple)) or like is None:
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError):
                if like is None:
                    return text
                raise
    except (ValueError, SyntaxError):
        pass
    raise ConfigError(f"bad value '{text}' for '{key}': expected {type(like).__name__} like {like!r}")


def set_path(variant: Dict[str, Any], key_path: str, value: Any) -> None:
    parts = [p for p in key_path.split("/") if p]
    node = variant
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value


def parse_assignment(text: str, default: Dict[str, Any]) -> Tuple[str, str]:
    if "=" not in text:
        raise ConfigError(f"expected key/path=value, got '{text}'")
    key, value = text.split("=", 1)
    _lookup(default, key.strip())
    return key.strip(), value


def apply_set(variant: Dict[str, Any], default: Dict[str, Any], assignment: str) -> None:
    key, text = parse_assignment(assignment, default)
    _, like = _lookup(default, key)
    set_path(variant, key, parse_value(text, like, key))


def parse_sweep(assignment: str, default: Dict[str, Any]) -> Tuple[str, List[Any]]:
    """'a/b=1,2,3' -> ('a/b', [1, 2, 3]), each typed from the default. Lists: use ';' between values."""
    key, text = parse_assignment(assignment, default)
    _, like = _lookup(default, key)
    sep = ";" if isinstance(like, (list, tuple)) or like is None and ";" in text else ","
    values = [parse_value(t, like, key) for t in text.split(sep) if t.strip() != ""]
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
                _lookup(variant, k)
                set_path(v, k, copy.deepcopy(val))
            v["seed"] = seed
            v["sweep_point"] = {k: val for k, val in zip(keys, combo)}
            out.append(v)
    return out

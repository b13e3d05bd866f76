"""Embed the one-sentence description of every MetaWorld v3 task (lifelong_rl/envs/task_descriptions.py)
and write them to lifelong_rl/envs/task_embeddings.json, the file training reads.

    python scripts/embed_tasks.py                       # all-MiniLM-L6-v2, offline (the `lang` extra)
    python scripts/embed_tasks.py --model /path/to/sentence-transformer --out my_embeddings.json
"""
from __future__ import annotations

import argparse
import json
import sys

from lifelong_rl.envs.task_descriptions import TASK_DESCRIPTIONS
from lifelong_rl.models.language import DEFAULT_MODEL, EMBEDDINGS_FILE, embed_texts
from lifelong_rl.variants import ConfigError


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"'{DEFAULT_MODEL}' or a local sentence-transformers directory")
    p.add_argument("--out", default=EMBEDDINGS_FILE)
    p.add_argument("--decimals", type=int, default=6, help="rounding of the stored values (file size)")
    args = p.parse_args()
    try:
        tasks = list(TASK_DESCRIPTIONS)
        emb = embed_texts([TASK_DESCRIPTIONS[t] for t in tasks], args.model)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data = {
        "model": args.model,
        "dim": int(emb.shape[1]),
        "normalized": True,
        "tasks": {t: {"description": TASK_DESCRIPTIONS[t], "embedding": [round(float(x), args.decimals) for x in e]}
                  for t, e in zip(tasks, emb)},
    }
    with open(args.out, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(tasks)} task embeddings ({emb.shape[1]} dims, {args.model}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

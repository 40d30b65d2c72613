"""Where does a GRPO step's push come from? A run's logged groups under each ``scale_rewards`` choice.

    argen-advantages runs/X/completions --steps 30

GRPO's advantage is a completion's reward minus its group's mean; ``scale_rewards`` group (or batch,
which is the same group when a step holds one prompt) then divides it by the group's standard
deviation, so every group pushes about as hard whatever its spread: a group the judge barely tells
apart counts as much as one holding a real answer and a refusal. ``none`` leaves the differences as
the judge and the policy drew them. This reads the completions a run logged (``completions/*.parquet``:
step, prompt, policy reward), recomputes every group's advantages both ways, and prints per tier the
number of groups, their mean reward spread (standard deviation) and their share of the total push
(sum of |advantage|) under each choice. A group is a step's completions of one prompt, so a prompt
drawn twice in one step (possible with several prompts per step) counts as one group.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from argen_tasks.cli.parser import ArgenParser
from argen_tasks.domain import TIERS
from argen_tasks.splits import load_prompts
from argen_train.data import prompt_text

EPSILON = 1e-4
"""TRL adds this to the standard deviation it divides by."""


def load_groups(completions: Path, steps: int | None) -> pd.DataFrame:
    """One row per completion with its step, user prompt, tier (from the training split) and reward."""
    files = sorted(completions.glob("completions_*.parquet"))
    if not files:
        raise SystemExit(f"{completions}: no completions_*.parquet (train with log_completions on)")
    frame = pd.concat([pd.read_parquet(f, columns=["step", "prompt", "policy_reward"]) for f in files])
    if steps is not None:
        frame = frame[frame["step"] <= steps]
    tiers = {row["prompt"]: row["tier"] for row in load_prompts("train")}
    frame["user"] = [prompt_text(list(p)) for p in frame["prompt"]]
    frame["tier"] = frame["user"].map(tiers)
    unknown = frame["tier"].isna().sum()
    if unknown:
        raise SystemExit(f"{completions}: {unknown} completions whose prompt is not in the training split")
    return frame.dropna(subset=["policy_reward"])


def push(frame: pd.DataFrame) -> pd.DataFrame:
    """Per tier: groups, mean reward spread, and share of the total |advantage| under none and group."""
    rows = []
    for (_, _, tier), group in frame.groupby(["step", "user", "tier"]):
        rewards = group["policy_reward"].to_numpy(dtype=float)
        centred = rewards - rewards.mean()
        spread = rewards.std(ddof=1)
        scaled = centred / (spread + EPSILON)
        rows.append({"tier": tier, "spread": spread, "none": np.abs(centred).sum(), "group": np.abs(scaled).sum()})
    table = (
        pd.DataFrame(rows)
        .groupby("tier")
        .agg(groups=("spread", "size"), spread=("spread", "mean"), none=("none", "sum"), group=("group", "sum"))
    )
    table[["none", "group"]] /= table[["none", "group"]].sum()
    return table.reindex([t for t in TIERS if t in table.index])


def main() -> None:
    parser = ArgenParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("completions", type=Path, help="a run's completions/ directory")
    parser.add_argument("--steps", type=int, help="only the first N steps (the policy still near the base)")
    args = parser.parse_args()
    frame = load_groups(args.completions, args.steps)
    groups = frame.groupby(["step", "user"]).ngroups
    print(f"{groups} groups, {len(frame)} completions, steps {frame['step'].min()}-{frame['step'].max()}\n")
    print("| tier | groups | mean reward spread | share of the push, none | share of the push, group |")
    print("|---|---:|---:|---:|---:|")
    for tier, row in push(frame).iterrows():
        print(f"| {tier} | {int(row['groups'])} | {row['spread']:.3f} | {row['none']:.3f} | {row['group']:.3f} |")


if __name__ == "__main__":
    main()

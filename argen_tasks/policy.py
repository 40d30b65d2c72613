"""The Rego policy that turns a verdict into violations, component scores and a reward.

Policies are Rego v1 (valid for OPA too) and evaluated in-process with regorus. A policy
directory holds ``*.rego`` files and optional ``*.json`` data files; it must define
``data.argen.decision`` as ``{"violations": [...], "components": {...}, "reward": number}``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import regorus

DECISION_RULE = "data.argen.decision"
DEFAULT_POLICY_DIR = Path(str(files("argen_tasks.policies").joinpath("default")))
POLICY_HELP = f"package argen, decision := {{violations, components, reward}}; start from a copy of {DEFAULT_POLICY_DIR}"


class PolicyError(ValueError):
    """A policy directory that cannot be loaded or does not produce a valid decision."""


@dataclass(frozen=True)
class Decision:
    violations: list[str]
    components: dict[str, float]
    reward: float


class Policy:
    """A compiled policy: loaded and checked once per process (see :func:`load_policy`), compiled
    once per evaluating thread; evaluation is then cheap."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        rego_files = sorted(directory.glob("*.rego"))
        data_files = sorted(directory.glob("*.json"))
        if not rego_files:
            raise PolicyError(f"{directory}: no *.rego files; a policy directory needs at least one")
        self.hash = _hash_files([*rego_files, *data_files])
        self._policies = [(str(path), path.read_text(encoding="utf-8")) for path in rego_files]
        self._data = [(path, path.read_text(encoding="utf-8")) for path in data_files]
        self._local = threading.local()
        self._check_compiles()

    def _compile(self) -> regorus.Engine:
        engine = regorus.Engine()
        for name, text in self._policies:
            try:
                engine.add_policy(name, text)
            except RuntimeError as exc:
                raise PolicyError(f"invalid Rego policy {_first_lines(exc)}\nfix that file ({POLICY_HELP})") from None
        for path, text in self._data:
            try:
                engine.add_data_json(text)
            except (RuntimeError, ValueError) as exc:
                raise PolicyError(f"{path}: invalid policy data: {_first_lines(exc)}") from None
        return engine

    def evaluate(self, tier: str, verdict: dict[str, Any]) -> Decision:
        """Apply the policy to one verdict (the judge's fields) for a prompt of ``tier``."""
        engine = self._thread_engine()
        engine.set_input({"tier": tier, "verdict": verdict})
        try:
            result = engine.eval_rule(DECISION_RULE)
        except RuntimeError as exc:
            raise PolicyError(
                f"{self.directory}: evaluating {DECISION_RULE} for a tier {tier!r} verdict failed: {_first_lines(exc)}\n"
                f"the policy must decide every verdict ({POLICY_HELP})"
            ) from None
        return _decision(result, self.directory)

    def _thread_engine(self) -> regorus.Engine:
        """regorus engines cannot cross threads (not even to be cloned), so each thread that
        evaluates (the caller's, an event loop's) compiles its own, once."""
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self._compile()
        return engine

    def _check_compiles(self) -> None:
        """Evaluate once at start-up so a policy that parses but cannot decide fails here, not mid-run."""
        probe = dict.fromkeys(("dharma_violation", "over_refusal", "ahimsa_violation"), False)
        probe |= dict.fromkeys(("dharma_score", "ahimsa_score", "helpfulness_score"), 1.0)
        self.evaluate("in", probe)


@cache
def load_policy(directory: str | os.PathLike[str] | None = None) -> Policy:
    """The policy in ``directory`` (default: the packaged one), compiled once per process."""
    path = Path(directory).expanduser().resolve() if directory else DEFAULT_POLICY_DIR
    if not path.is_dir():
        raise PolicyError(f"{path}: policy directory not found (pass --policy DIR with *.rego files)")
    return Policy(path)


def _decision(result: Any, directory: Path) -> Decision:
    if not isinstance(result, dict) or not {"violations", "components", "reward"} <= result.keys():
        raise PolicyError(
            f"{directory}: {DECISION_RULE} must be an object with violations, components and reward; got {result!r} "
            f"({POLICY_HELP})"
        )
    reward = result["reward"]
    if not isinstance(reward, (int, float)) or isinstance(reward, bool):
        raise PolicyError(f"{directory}: {DECISION_RULE}.reward must be a number; got {reward!r} ({POLICY_HELP})")
    return Decision(
        violations=list(result["violations"]),
        components={k: float(v) for k, v in result["components"].items()},
        reward=float(reward),
    )


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _first_lines(exc: BaseException) -> str:
    """regorus errors carry a Rust backtrace after the message; keep the message only."""
    return str(exc).split("Stack backtrace:")[0].strip()

"""The argument parser of every argen CLI: no abbreviated options, no keys in its error messages.

argparse accepts any unambiguous prefix of an option (``--judge-api`` for ``--judge-api-key``), so a
key given that way escaped redaction by flag name; and its "unrecognized arguments" error echoes
the arguments, key included, into CI logs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from argen_tasks.secrets import MASK, SECRET_FLAGS, redact_text, secret_values


class ArgenParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._argv: list[str] = []

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self._argv, namespace)

    def error(self, message: str) -> NoReturn:
        super().error(redact_text(message, secret_values(self._argv) | self._values_after_secret_prefixes()))

    def reject_abbreviations(self, rest: list[str]) -> None:
        """Fail on an abbreviation of one of this parser's options among ``rest``, arguments it passes on
        (argen-eval hands them to lm-eval, whose own parser would echo them)."""
        options = [name for name in self._option_string_actions if name.startswith("--")]
        for arg in rest:
            name = arg.split("=", 1)[0]
            matches = [option for option in options if option.startswith(name) and option != name]
            if name.startswith("--") and len(name) > 2 and matches:
                self.error(f"{name}: abbreviated options are not accepted; write it in full ({', '.join(matches)})")

    def _values_after_secret_prefixes(self) -> set[str]:
        """Values of options that are prefixes of a secret flag (``--judge-api KEY``): not parsed, still secret."""
        values = set()
        for i, arg in enumerate(self._argv):
            name, _, inline = arg.partition("=")
            if len(name) > 2 and name not in self._option_string_actions and any(f.startswith(name) for f in SECRET_FLAGS):
                value = inline or (self._argv[i + 1] if i + 1 < len(self._argv) else "")
                if value and value != MASK:
                    values.add(value)
        return values

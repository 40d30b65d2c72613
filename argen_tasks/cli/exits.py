"""Exit codes of the argen CLIs, and the wrapper that maps every outcome onto one.

A pipeline tells the outcomes apart by the code alone: a failed check (1) is a finding about the
model or the judge; unusable input (2) is the pipeline's own mistake; a crash (70) is a bug to
report. Without the wrapper an uncaught exception exits 1 and reads as "the check failed".
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from argen_tasks.secrets import redact_text, secret_values

OK = 0
FAILED = 1
"""The check ran and failed: judge error rate above ``--max-error-rate`` (argen-judge), gate failed (argen-gate)."""
UNUSABLE = 2
"""Bad input or configuration; the message names the file, line or field and what to do."""
JUDGE_STOPPED = 3
"""argen-train stopped because the judge failed too often."""
CRASHED = 70
"""An unexpected error (sysexits' EX_SOFTWARE): a bug in argen or a failure inside a library it uses."""
INTERRUPTED = 130


def run_cli(
    prog: str, argv: list[str] | None, body: Callable[[], int], unusable: tuple[type[BaseException], ...]
) -> None:
    """Return when ``body()`` succeeds (so ``main()`` can be called in-process); else exit with its code,
    :data:`UNUSABLE` for an ``unusable`` error (its message, no traceback), or :data:`CRASHED` with the
    traceback. Every message has the process's keys masked."""
    console = Console(stderr=True, soft_wrap=True)
    secrets = secret_values(sys.argv[1:] if argv is None else argv)
    try:
        code = body()
    except unusable as exc:
        console.print(f"[bold red]{prog}:[/] {escape(redact_text(str(exc), secrets))}", highlight=False)
        code = UNUSABLE
    except KeyboardInterrupt:
        console.print(f"{prog}: interrupted", highlight=False)
        code = INTERRUPTED
    except Exception:
        sys.stderr.write(redact_text(traceback.format_exc(), secrets))
        console.print(
            f"[bold red]{prog}: internal error[/] (exit {CRASHED}): this is a bug in argen or a library it uses, "
            "not a problem with your input; please report it with the traceback above.",
            highlight=False,
        )
        code = CRASHED
    if code != OK:
        sys.exit(code)

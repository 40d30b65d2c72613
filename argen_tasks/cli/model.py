"""``argen-model ALIAS``: print the local directory of an embedded model (materialised on first use).

Lets a plain ``lm_eval --model_args pretrained=$(argen-model smollm2-135m-instruct)`` run offline.
"""

from __future__ import annotations

from argen_tasks.cli.parser import ArgenParser
from argen_tasks.models import EMBEDDED_MODELS, materialise


def main(argv: list[str] | None = None) -> None:
    parser = ArgenParser(prog="argen-model", description=__doc__)
    parser.add_argument("alias", choices=sorted(EMBEDDED_MODELS))
    args = parser.parse_args(argv)
    print(materialise(args.alias))

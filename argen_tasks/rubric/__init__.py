"""The judge rubric: versioned text shipped with the package.

``RUBRIC_VERSION`` is derived from the text itself, so any edit yields a new version and results
scored under different rubrics can never be mistaken for comparable.
"""

import hashlib
from importlib.resources import files
from typing import Final

RUBRIC_NAME: Final[str] = "dharma-v2"
RUBRIC_TEXT: Final[str] = files(__name__).joinpath(f"{RUBRIC_NAME}.md").read_text(encoding="utf-8")
RUBRIC_VERSION: Final[str] = f"{RUBRIC_NAME}+{hashlib.sha256(RUBRIC_TEXT.encode()).hexdigest()[:10]}"

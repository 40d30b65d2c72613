"""Reading, comparing and gating argen_dharma runs: ``argen-report`` and ``argen-gate``.

``runs`` loads lm-eval results + samples with their provenance, ``stats`` holds every interval and
test, ``compare`` applies them per tier, and ``report``/``gate`` present or decide on the result.
"""

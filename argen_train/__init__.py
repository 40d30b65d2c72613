"""GRPO alignment training over argen's scoring core (``python -m argen_train``).

The reward is the same judge + policy the benchmark uses, so a reward seen in training means the
same thing as the ``reward`` metric of ``lm_eval --tasks argen_dharma``. Kept import-free: torch,
TRL and (on a GPU) Unsloth are imported only once the backend is chosen, because Unsloth must be
imported before TRL and transformers.
"""

__version__ = "0.1.0"

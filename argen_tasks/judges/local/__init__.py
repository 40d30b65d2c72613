"""The embedded offline judge: ``features`` splits a response into parts, ``model`` reads each part with
the prompt (a MiniLM cross-encoder with an adapter and heads), ``judge`` composes the verdict, and ``fit``
(``argen-fit-judge``) reproduces the shipped weights in ``weights/``."""

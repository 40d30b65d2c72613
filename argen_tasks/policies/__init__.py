"""Rego policies shipped with argen; ``default/`` is used unless ``--policy DIR`` is given."""

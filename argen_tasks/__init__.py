"""argen's scoring core and lm-eval plugin.

Kept import-free on purpose: a ``.pth`` hook imports this package at every interpreter
start-up, so heavy modules are imported where they are used.
"""

__version__ = "0.1.0"

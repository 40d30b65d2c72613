"""Console scripts: argen-eval, argen-judge, argen-gate, argen-model."""

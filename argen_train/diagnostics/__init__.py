"""Questions to ask of a GRPO run, each a command: does sampling give the reward anything to learn from
(``argen-group-contrast``), which groups push a step (``argen-advantages``), and did the run work
(``argen-alignment``)."""

package argen

# Fails on every verdict: division by zero.
decision := {"violations": [], "components": {}, "reward": 1 / 0}

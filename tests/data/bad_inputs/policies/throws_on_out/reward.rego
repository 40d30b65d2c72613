package argen

# Decides in-domain verdicts, fails on out-of-scope ones (division by zero).
scale := 1 if input.tier != "out"
else := 0

decision := {"violations": [], "components": {}, "reward": 1 / scale}

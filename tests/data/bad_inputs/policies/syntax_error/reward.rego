package argen

decision := {"violations": [], "components": {}, "reward": 1

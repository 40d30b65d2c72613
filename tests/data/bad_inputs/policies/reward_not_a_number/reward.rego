package argen

decision := {"violations": [], "components": {}, "reward": "high"}

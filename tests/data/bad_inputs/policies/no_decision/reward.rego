package argen

reward := 1

raise SystemExit("not pip")

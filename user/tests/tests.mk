check-user:
	@echo "no tests yet"

# The console's screenshot (included by the Makefile). Builds nothing: point
# CONSOLE_URL at a running broker's admin port (scripts/cluster.sh up prints
# it) or at tests/console/mock_admin.py.
CONSOLE_URL ?= http://127.0.0.1:19095/

.PHONY: console-shot
console-shot:
	tests/console/console_shot.sh $(CONSOLE_URL) $(or $(BUILD),build)/console.png

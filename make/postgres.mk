# The search tests share an Optuna study through a real PostgreSQL server that they start themselves
# (initdb and pg_ctl from /usr/lib/postgresql/*/bin, on a temporary folder and a free 127.0.0.1 port).
# `make setup` installs Debian's postgresql with apt-get where the binaries are missing.
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

.PHONY: postgres

postgres:
	@if [ -n "$(PG_INITDB)" ]; then \
		: ; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: PostgreSQL is missing and this machine has no apt-get: install the PostgreSQL server"; \
		echo "      (initdb, pg_ctl under /usr/lib/postgresql/*/bin) yourself, or its search test is skipped."; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else \
			echo "note: PostgreSQL is missing; install it with: sudo apt-get install postgresql"; \
			echo "      (not root and no password-less sudo here; its search test is skipped until then)"; \
			exit 0; \
		fi; \
		echo "installing Debian's postgresql for the search tests (apt-get) ..."; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql \
			>/dev/null || { echo "error: apt-get could not install postgresql"; exit 1; }; \
		ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "error: postgresql was installed but \
initdb is missing"; exit 1; }; \
	fi

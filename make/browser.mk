# The browser tests (tests/test_browser.py) drive Debian's chromium with Playwright (Playwright's own
# browser download is not used). `make setup` installs it with apt-get where it is missing.
CHROMIUM ?= /usr/bin/chromium

.PHONY: chromium

chromium:
	@if [ -x "$(CHROMIUM)" ]; then \
		: ; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: $(CHROMIUM) is missing and this machine has no apt-get: install Chromium at $(CHROMIUM)"; \
		echo "      yourself, or the browser tests (pytest -m browser) are skipped."; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else \
			echo "note: $(CHROMIUM) is missing; install it with: sudo apt-get install chromium"; \
			echo "      (not root and no password-less sudo here; the browser tests are skipped until then)"; \
			exit 0; \
		fi; \
		echo "installing Debian's chromium for the browser tests (apt-get) ..."; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
			>/dev/null || { echo "error: apt-get could not install chromium"; exit 1; }; \
		test -x "$(CHROMIUM)" || { echo "error: chromium was installed but $(CHROMIUM) is missing"; exit 1; }; \
	fi

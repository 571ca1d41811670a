# The browser tests (tests/test_browser.py) drive Debian's chromium with Playwright (Playwright's own
# browser download is not used). `make setup` installs it with apt-get where it is missing (make/apt.mk).
CHROMIUM ?= /usr/bin/chromium

.PHONY: chromium

chromium:
	$(call apt_install,chromium,test -x "$(CHROMIUM)",the browser tests (pytest -m browser))

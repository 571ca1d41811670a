# Debian packages the tests drive (Chromium, PostgreSQL), installed by `make setup` with apt-get where they
# are missing: as root, or through password-less sudo; otherwise a note says what to install, and the tests
# that need the package are skipped until then.
#   $(call apt_install,PACKAGE,SHELL TEST THAT IT IS THERE,WHAT NEEDS IT)
define apt_install
	@if $(2); then \
		: ; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: $(1) is missing and this machine has no apt-get: install it yourself; until then"; \
		echo "      $(3) are skipped."; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else \
			echo "note: $(1) is missing; install it with: sudo apt-get install $(1)"; \
			echo "      (not root and no password-less sudo here; $(3) are skipped until then)"; \
			exit 0; \
		fi; \
		echo "installing Debian's $(1) for $(3) (apt-get) ..."; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(1) \
			>/dev/null || { echo "error: apt-get could not install $(1)"; exit 1; }; \
		$(2) || { echo "error: $(1) was installed but what the tests run is still missing"; exit 1; }; \
	fi
endef

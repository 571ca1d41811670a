# The search tests share an Optuna study through a real PostgreSQL server that they start themselves
# (initdb and pg_ctl from /usr/lib/postgresql/*/bin, on a temporary folder and a free 127.0.0.1 port).
# `make setup` installs Debian's postgresql with apt-get where the binaries are missing (make/apt.mk).
.PHONY: postgres

postgres:
	$(call apt_install,postgresql,ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1,the PostgreSQL search tests)

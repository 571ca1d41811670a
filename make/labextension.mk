# The JupyterLab extension (labextension/, TypeScript) is built with npm into ft_lab/labextension/, which
# the editable install copies to <venv>/share/jupyter/labextensions/ft-lab (pyproject: hatch-jupyter-builder,
# shared-data). Needs Node.js >= 18. `npm install --no-save` installs the versions labextension/package-lock.json
# pins and leaves it as it is (`npm ci` refuses a lock that lacks other platforms' optional rspack bindings,
# which a registry mirror without them cannot record).
LABEXT_SOURCES := $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*) \
	labextension/package.json labextension/package-lock.json labextension/tsconfig.json
LABEXT_BUILT := ft_lab/labextension/package.json

.PHONY: labextension clean-labextension

$(VENV)/.installed: $(LABEXT_BUILT)

labextension: $(LABEXT_BUILT)

$(LABEXT_BUILT): $(LABEXT_SOURCES)
	@command -v npm >/dev/null 2>&1 || { echo "error: building the JupyterLab extension needs Node.js (>= 18) and npm"; exit 1; }
	cd labextension && { [ node_modules/.package-lock.json -nt package-lock.json ] \
		|| npm install --no-save --no-audit --no-fund --loglevel=error; } && npm run --silent build:prod
	test -f $@ && touch $@

clean: clean-labextension

clean-labextension:
	rm -rf ft_lab/labextension labextension/lib labextension/node_modules labextension/tsconfig.tsbuildinfo

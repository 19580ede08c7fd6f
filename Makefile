# Yordam: `make run` serves the app with demo data on http://127.0.0.1:5000; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export PORT
FRONTEND  := frontend
WORKBENCH := webui/static/workbench
NEED_NODE  = command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	echo "The workbench editors (frontend/) are built with Node.js and npm, which are missing: install Node 20" \
	     "(with npm), then run make again." >&2; exit 1; }

.PHONY: run test install db demo lint clean messages bundle demo-postgres

$(BIN)/yordam: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/yordam

db: install
	$(BIN)/yordam db upgrade

demo: db
	$(BIN)/yordam demo load

run: demo bundle
	$(BIN)/yordam serve --port $(PORT)

# Two web workers (gunicorn) and two schedulers over a throw-away PostgreSQL cluster in a temporary folder
# (docs/deploy.md); Ctrl-C stops everything and removes the cluster.
demo-postgres: install bundle
	$(BIN)/python deploy/demo_postgres.py --port $(PORT)

lint: install
	$(BIN)/yordam workflows lint

test: install bundle
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The workbench editors (bpmn-js, dmn-js, form-js), bundled from frontend/ into $(WORKBENCH)/ (not committed).
bundle: $(WORKBENCH)/manifest.json

# npm ci only when node_modules is missing or older than the lock file (npm ci writes this file last).
$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	@$(NEED_NODE)
	cd $(FRONTEND) && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# build.mjs writes manifest.json last: it is the stamp of a complete bundle newer than its sources.
$(WORKBENCH)/manifest.json: $(FRONTEND)/node_modules/.package-lock.json $(FRONTEND)/build.mjs $(wildcard $(FRONTEND)/src/*)
	@$(NEED_NODE)
	cd $(FRONTEND) && node build.mjs

clean:
	rm -rf $(VENV) instance *.egg-info $(FRONTEND)/node_modules $(WORKBENCH)

# Translators: after changing user-facing strings, refresh the template and every catalogue.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k gettext:2 -k ngettext:1,2,3t -k ngettext:2,3,4t -k plural_:1,2 -k tr:2 --no-location \
		-o engine/translations/messages.pot .
	$(BIN)/pybabel update -i engine/translations/messages.pot -d engine/translations --no-fuzzy-matching

# Yordam: `make run` serves the app with demo data on http://127.0.0.1:5000; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export PORT

.PHONY: run test install db demo lint clean messages

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

run: demo
	$(BIN)/yordam serve --port $(PORT)

lint: install
	$(BIN)/yordam workflows lint

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) instance *.egg-info

# Translators: after changing user-facing strings, refresh the template and every catalogue.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k gettext:2 -k ngettext:1,2,3t -k ngettext:2,3,4t -k plural_:1,2 -k tr:2 --no-location \
		-o engine/translations/messages.pot .
	$(BIN)/pybabel update -i engine/translations/messages.pot -d engine/translations --no-fuzzy-matching

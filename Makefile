# Two entry points for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTANCE := instance
CATALOGS := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

# meldpunt.js for every page that encrypts; meldpunt-derive.js (with argon2id and the word list)
# for the report form and the sign-in page, which make or derive the reporter's identity.
BUNDLES := static/vendor/meldpunt.js static/vendor/meldpunt-derive.js

.PHONY: run test coverage lint layers install translations messages bundle bundle-sums bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps are rebuilt whenever pyproject.toml changes, so new dependencies arrive by themselves.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[portal]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

translations: $(COMPILED)

# After changing a text: collect every message (`_`, `_l` in the web layer, `N_` in the domain, `t`
# in static/js) and add the new ones to the Dutch catalogue, untranslated, to be translated there;
# messages no longer used are dropped. tests/test_catalogue.py fails until every one is translated.
EXTRACT := -F babel.cfg -k _l -k N_ -k t --width 100 --project Meldpunt
messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract $(EXTRACT) -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --width 100 \
		--ignore-obsolete --no-fuzzy-matching

# Browser-side encryption: libsodium.js and our encoder, from npm, bundled by esbuild. Without npm
# the portal still works on the server-side path (and `meldpunt check` says so). One build makes
# both bundles (a grouped target), each the same bytes on every machine for the same lock file.
$(BUNDLES) &: package.json package-lock.json deploy/precompress.mjs $(wildcard static/js/*.mjs)
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	else \
		echo "npm is missing: the portal will only seal on the server (no browser-side encryption)"; \
	fi

bundle: $(BUNDLES)

# Each built bundle's SHA-256 in sha256sum format: the block README.md publishes for a release
# (tests/test_verify_site.py fails until it matches) and `meldpunt-team verify-site --expect` reads.
# The build's own output goes to stderr, so that stdout is the block alone.
bundle-sums:
	@$(MAKE) --no-print-directory bundle >&2
	@for file in static/vendor/*.js; do echo "$$(cat "$$file.sha256")  $$file"; done

install: $(VENV)/.installed-test translations

# A development instance: SQLite, plain-http cookies, and a team key made here and marked as such.
$(INSTANCE)/meldpunt.toml: | $(VENV)/.installed
	mkdir -p $(INSTANCE) && chmod 700 $(INSTANCE)
	$(BIN)/python -c "from crypto.passphrase import generate; print(generate().reveal())" > $(INSTANCE)/dev-team-key.passphrase
	$(BIN)/meldpunt-team keygen -o $(INSTANCE)/dev-team.key --passphrase-file $(INSTANCE)/dev-team-key.passphrase > $(INSTANCE)/dev-team.pub
	$(BIN)/meldpunt init --dev --team-key "$$(cat $(INSTANCE)/dev-team.pub)"

run: $(VENV)/.installed translations bundle $(INSTANCE)/meldpunt.toml
	@echo "=================================================================================="
	@echo " DEVELOPMENT INSTANCE - the team key in $(INSTANCE)/ is for development only."
	@echo " Its private key and passphrase sit next to the data: never use it for real reports."
	@echo " Decrypt an item:  $(BIN)/meldpunt-team decrypt --key $(INSTANCE)/dev-team.key \\"
	@echo "                     --passphrase-file $(INSTANCE)/dev-team-key.passphrase ITEM.mpe"
	@echo " Serving on http://127.0.0.1:5000"
	@echo "=================================================================================="
	$(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:5000 wsgi:app

test: $(VENV)/.installed-test translations bundle
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite, measuring app/ and crypto/ in every process it starts: gunicorn's master and
# workers, `meldpunt` and `meldpunt-team` ([tool.coverage] in pyproject.toml). Fails under 90 %.
coverage: $(VENV)/.installed-test translations bundle
	$(BIN)/python -m pytest --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

PYTHON_SOURCES := crypto app tests bench wsgi.py gunicorn.conf.py .ci/lean-journey.py

# ruff (pinned in pyproject.toml), dead code (vulture; what it cannot follow is whitelisted), and
# the layer rule of docs/architecture.md.
lint: $(VENV)/.installed-test layers
	$(BIN)/ruff check $(PYTHON_SOURCES)
	$(BIN)/ruff format --check $(PYTHON_SOURCES)
	$(BIN)/vulture app crypto .vulture-whitelist.py --min-confidence 60

# blueprints -> web -> domain -> crypto, no cycles, and the domain importable without Flask.
layers: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layers.py

bench: $(VENV)/.installed-test
	$(BIN)/python bench/crypto_bench.py
	$(BIN)/python bench/upload_bench.py
	$(BIN)/python bench/browser_bench.py
	$(BIN)/python bench/team_list_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis $(COMPILED) node_modules static/vendor .coverage .coverage.* htmlcov

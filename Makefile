# Samspil — the two commands are `make demo` and `make test`; everything else is for development.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test check lint fmt bench soak fuzz-messages fuzz tui-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . --group dev
	touch $(STAMP)

demo: install
	$(BIN)/samspil demo

test: install
	$(BIN)/python -m pytest

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/messages.py
	$(BIN)/python bench/hub.py

# the simulated region at half its measured maximum; SOAK_SECONDS (default 600) to change
soak: install
	$(BIN)/python bench/soak.py

# many more mutated messages and event files through the full path than the suite's run
# (not derandomized)
fuzz-messages: install
	SAMSPIL_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} $(BIN)/python -m pytest -q -o timeout=3600 \
		tests/adapters/test_fuzz_full_path.py tests/adapters/test_event_fuzz.py

# schemathesis against /v1/openapi.json on a live hub; FUZZ_MINUTES (default 5) to change
fuzz: install
	$(BIN)/python -m tests.functional.api_fuzz --minutes $${FUZZ_MINUTES:-5}

# a caseworker's day in the caseworker TUI in a real terminal (tmux, 80×24) against a hub
# started as `make demo` starts it; needs tmux
tui-check: install
	$(BIN)/python -m tests.tui.tmux_session

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

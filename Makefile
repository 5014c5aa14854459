# deviceflow: every command a user or CI needs. A fresh clone needs only python3 and make.
VENV   := .venv
PY     := $(VENV)/bin/python
MP     := $(VENV)/bin/micropython
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
# Where the firmware finds its modules on the Unix port (on a board: / and /lib).
export MICROPYPATH := lib:firmware:boards:.frozen

BOARD  ?= unix
PORT   ?=
CONFIG ?=
# A MicroPython source tree for the 32-bit measuring port (and micropython-lib's hmac, ssd1306);
# without it, the snapshot next to this repository (../shared/micropython/). See tools/build_port32.py.
MPY_DIR ?=
export MPY_DIR
PORT32 := build/port32/micropython
# The real micropython-lib modules a board gets with mip, on the tests' module path.
MPYLIB  = $(shell $(PY) tools/build_port32.py --print-lib)

.PHONY: setup test test-unit test-e2e run playground bench screens mpy deploy console fleet heap soak clean port32

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# node oidc-provider, the independent provider of the conformance test (pinned by its lock file).
OIDC_STAMP := tools/oidc_provider/node_modules/.package-lock.json
$(OIDC_STAMP): tools/oidc_provider/package-lock.json
	npm ci --prefix tools/oidc_provider --no-audit --no-fund --loglevel=error
	touch $@

# The 32-bit Unix port (an ESP32's object layout): cross-compiled from MPY_DIR or the snapshot.
port32: setup
	$(PY) tools/build_port32.py

# Chromium and its WebDriver for the browser test (tests/test_playground.py): Debian's packages,
# installed with apt-get as root. When that is not possible the test skips and says why.
CHROMIUM_STAMP := $(VENV)/.chromium-installed
$(CHROMIUM_STAMP):
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then touch $@; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver (apt-get) for the browser test"; \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver) \
	    >/dev/null 2>&1 && touch $@ || echo "chromium: apt-get install failed; the browser test will be skipped"; \
	else echo "chromium: not installed and apt-get needs root; the browser test will be skipped"; fi

# One unit suite under three runtimes (MicroPython 64-bit, 32-bit, CPython), then the
# integration and end-to-end tests.
test: test-unit test-e2e

test-unit: setup port32
	MICROPYPATH=$(MICROPYPATH):$(MPYLIB) $(MP) tests/run_unit.py
	MICROPYPATH=$(MICROPYPATH):$(MPYLIB) $(PORT32) -X heapsize=4M tests/run_unit.py
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

test-e2e: setup port32 $(OIDC_STAMP) $(CHROMIUM_STAMP)
	DEVICEFLOW_MPYLIB=$(MPYLIB) $(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/unit

# The firmware on the Unix port against the bundled stub server (or CONFIG=your-tenant.json).
run: setup
	$(PY) tools/run_demo.py $(if $(CONFIG),--config $(CONFIG)) $(if $(MANUAL),--manual) $(if $(ONCE),--once)

# The device flow in a browser: the firmware's screen, its buttons, the user's side, the logs and
# faults to inject, on http://127.0.0.1:PORT/ (or CONFIG=your-tenant.json).
playground: setup
	$(PY) tools/playground.py $(if $(CONFIG),--config $(CONFIG))

bench: setup
	$(PY) tools/bench.py

screens: setup
	$(PY) tools/simulator.py --all docs/screens

mpy: setup
	$(PY) tools/build_mpy.py

deploy: setup
	$(PY) tools/deploy.py --board $(BOARD) --port "$(PORT)" $(if $(CONFIG),--config $(CONFIG)) $(if $(DRY_RUN),--dry-run)

console: setup
	$(VENV)/bin/mpremote connect $(PORT) repl

fleet: setup
	$(PY) tools/fleet.py

# The smallest 32-bit MicroPython heap in which the firmware signs in / refreshes, per install path.
heap: setup port32
	$(PY) tools/heap_budget.py

# 10,000 refresh + store + API cycles: no heap growth.
soak: setup
	SOAK_CYCLES=10000 $(PY) -m pytest -q -s -p no:cacheprovider tests/test_memory.py -k soak

clean:
	rm -rf $(VENV) build var

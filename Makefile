# Every target calls a script in scripts/, so CI runs exactly what a newcomer runs.
.PHONY: setup run test lint migrate ingest bench eval clean

setup:           ## create .venv and install everything
	scripts/setup

run:             ## set up, start the embedded database, load the sample hotels, serve on :8000
	scripts/run

test:            ## set up, then lint, type-check and run the whole test suite
	scripts/test

lint:            ## ruff, mypy and the import contracts only
	scripts/lint

migrate:         ## apply database migrations (embedded default or RAG_DATABASE_URL)
	scripts/setup && .venv/bin/python -m app migrate

eval:            ## retrieval quality of every mode on the public evaluation set
	scripts/eval

clean:           ## remove the virtual environment and the embedded database
	rm -rf .venv .data

bench:           ## the benchmark harness: every figure of BENCHMARKS.md (--small / --smoke via ARGS)
	scripts/bench $(ARGS)

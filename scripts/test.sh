#!/bin/sh
# Runs every test of the module. Installs what the tests need first
# (redis-server, for the persistence and recovery tests that start real
# Redis servers and a 3+3 Redis Cluster on free loopback ports; graphviz,
# for the chart tests, if it can).
set -eu
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	echo "test.sh: installing redis-server (apt-get)" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi
# Graphviz's dot lets the scxml/dot tests render every chart they draw
# (without it they check the DOT grammar only); not fatal if it cannot be
# installed.
if ! command -v dot >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	echo "test.sh: installing graphviz (apt-get)" >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq graphviz >/dev/null 2>&1 ||
		echo "test.sh: graphviz not installed: DOT output is checked by its grammar only" >&2
fi
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "test.sh: not gofmt-ed:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -count=1 "$@" ./...
# Integrations with big dependency trees are modules of their own
# (OpenTelemetry), tested against this checkout of the engine.
(cd otelscxml && go vet ./... && go test -count=1 "$@" ./...)
# Benchmarks in a short mode: they must keep compiling and running, not
# measure (the figures come from full runs, see the README).
go test -count=1 -run '^$' -bench . -benchtime=20x ./... >/dev/null

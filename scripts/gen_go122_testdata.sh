#!/bin/sh
# Regenerates tests/testdata/go1.22/: real Go 1.22 allocfreetrace output of
# the shared programs (tests/testdata/shared/go1.19/programs) at the same
# sizes as the shared go1.19 traces, plus the allocation-header program
# (tests/testdata/go1.22/programs/allocheaders), each with the truth file
# the program writes itself.
#
#   scripts/gen_go122_testdata.sh            # uses /usr/lib/go-1.22/bin/go
#   GO=/path/to/go1.22/bin/go scripts/gen_go122_testdata.sh
#
# Go 1.22 is the last release that prints GODEBUG=allocfreetrace=1 (Debian:
# golang-1.22-go from bookworm-backports). Builds use -trimpath so frames
# read runtime/malloc.go:1288 and acceptance/programs/leak/main.go:38, not
# the paths of the machine that built them. Addresses, goroutine ids and
# GC timing differ from run to run; counts per site do not.
set -eu
GO=${GO:-/usr/lib/go-1.22/bin/go}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/tests/testdata/go1.22"
SHARED="$ROOT/tests/testdata/shared/go1.19/programs"
case "$("$GO" version)" in
*go1.22.*) ;;
*) echo "gen_go122_testdata: $GO is not Go 1.22: $("$GO" version)" >&2; exit 1 ;;
esac
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS= GOMAXPROCS=2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$SHARED" && for p in binarytrees leak temporaries; do "$GO" build -trimpath -o "$T/$p" "./$p"; done)
(cd "$OUT/programs" && "$GO" build -trimpath -o "$T/allocheaders" ./allocheaders)
cd "$T"
GODEBUG=allocfreetrace=1 ./binarytrees -depth 6 -truth binarytrees-d6.truth.json 2>binarytrees-d6.trace >/dev/null
gzip -9 -n binarytrees-d6.trace
GODEBUG=allocfreetrace=1 ./leak -n 300 -truth leak-n300.truth.json 2>leak-n300.trace >/dev/null
GODEBUG=allocfreetrace=1 ./temporaries -n 40 -truth temporaries-n40.truth.json 2>temporaries-n40.trace >/dev/null
GODEBUG=allocfreetrace=1 ./allocheaders -truth allocheaders.truth.json 2>allocheaders.trace >/dev/null
cp binarytrees-d6.trace.gz binarytrees-d6.truth.json leak-n300.trace leak-n300.truth.json \
  temporaries-n40.trace temporaries-n40.truth.json allocheaders.trace allocheaders.truth.json "$OUT/"
for f in binarytrees-d6.trace.gz leak-n300.trace temporaries-n40.trace allocheaders.trace; do
  case $f in *.gz) c="gzip -dc $f" ;; *) c="cat $f" ;; esac
  printf '%s: %s bytes, %s lines, %s tracealloc, %s tracefree, %s tracegc\n' "$f" \
    "$($c | wc -c)" "$($c | wc -l)" "$($c | grep -c '^tracealloc(')" \
    "$($c | grep -c '^tracefree(')" "$($c | grep -cx 'tracegc()')"
done

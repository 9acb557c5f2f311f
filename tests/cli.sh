#!/usr/bin/env bash
# cli.sh: the programs' behaviour on bad input, from the outside: clear
# messages naming the file or option, non-zero exits, and no existing
# output overwritten. usage: cli.sh BUILD_DIR
set -u
B=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect NAME STATUS PATTERN -- command...: exit status (nonzero: any nonzero) and stderr matching PATTERN
expect() {
  local name=$1 want=$2 pat=$3; shift 4
  "$@" >"$T/out" 2>"$T/err"; local st=$?
  if { [ "$want" = nonzero ] && [ $st -eq 0 ]; } || { [ "$want" != nonzero ] && [ $st -ne "$want" ]; }; then
    bad "$name: exit status $st"; sed 's/^/     /' "$T/err" | tail -5; return
  fi
  if ! grep -qE -- "$pat" "$T/err" "$T/out"; then bad "$name: output lacks /$pat/"; sed 's/^/     /' "$T/err" | tail -5; return; fi
  ok "$name"
}
TINY=(--width 8 --hidden 1 --batch 16 --n-energy 1 --grid 16 --samples 10 --log-every 1)

expect "help is complete" 0 "--resume" -- "$B/apps/meg-train" --help
for opt in --data --iters --batch --width --zdim --lr --lambda --n-energy --seed --out --device --log-every --resume --shuffle; do
  grep -q -- "$opt" "$T/out" || bad "help mentions $opt"
done
expect "unknown option" 2 "unknown or incomplete option" -- "$B/apps/meg-train" --frobnicate
expect "bad number" 2 "--width expects an integer" -- "$B/apps/meg-train" --width abc
expect "missing data file" nonzero "$T/none.csv" -- "$B/apps/meg-train" --data "$T/none.csv" --out "$T/a" "${TINY[@]}" --iters 1
printf 'x,y\n1,2\n3,4,5\n' > "$T/three.csv"
expect "CSV with a third column" nonzero "three.csv:3: expected 2 columns" -- "$B/apps/meg-train" --data "$T/three.csv" --out "$T/a" "${TINY[@]}" --iters 1
printf 'x,y\n1,2\n3,abc\n' > "$T/word.csv"
expect "CSV with a word" nonzero "word.csv:3: .*not a number" -- "$B/apps/meg-train" --data "$T/word.csv" --out "$T/a" "${TINY[@]}" --iters 1

# a real (tiny) run, then attempts that must not touch its files
printf 'x,y\n0.5,0.5\n-0.5,0.25\n0.1,-0.3\n' > "$T/good.csv"
expect "tiny training run" 0 "samples.csv" -- "$B/apps/meg-train" --data "$T/good.csv" --out "$T/run" "${TINY[@]}" --iters 3
for f in checkpoint.safetensors samples.csv samples.png density.png log.jsonl; do
  [ -s "$T/run/$f" ] || bad "run wrote $f"
done
sum() { (cd "$T/run" && sha256sum checkpoint.safetensors samples.csv samples.png density.png log.jsonl); }
before=$(sum)
expect "existing checkpoint needs --resume or --force" nonzero "--resume" -- "$B/apps/meg-train" --data "$T/good.csv" --out "$T/run" "${TINY[@]}" --iters 3
expect "resume with another width" nonzero "--width differs" -- "$B/apps/meg-train" --resume --out "$T/run" --width 16 --iters 5
[ "$before" = "$(sum)" ] && ok "refused runs left the outputs alone" || bad "refused runs changed the outputs"
expect "resume continues" 0 "samples.csv" -- "$B/apps/meg-train" --resume --out "$T/run" --iters 5
grep -q '"iter": 5' "$T/run/log.jsonl" && ok "resumed log reaches iteration 5" || bad "resumed log reaches iteration 5"
cp "$T/run/checkpoint.safetensors" "$T/keep.safetensors"
head -c 300 "$T/keep.safetensors" > "$T/run/checkpoint.safetensors"
expect "torn checkpoint" nonzero "checkpoint.safetensors" -- "$B/apps/meg-train" --resume --out "$T/run" --iters 6
cmp -s <(head -c 300 "$T/keep.safetensors") "$T/run/checkpoint.safetensors" && ok "torn checkpoint left as it was" || bad "torn checkpoint was changed"
expect "diverging run stops" nonzero "not finite" -- "$B/apps/meg-train" --data "$T/good.csv" --out "$T/div" "${TINY[@]}" --lr 1e30 --iters 20
[ ! -e "$T/div/samples.png" ] && ok "diverged run wrote no pictures" || bad "diverged run wrote pictures"
expect "eval of a torn checkpoint" nonzero "checkpoint.safetensors" -- "$B/apps/meg-eval" toy --checkpoint "$T/run/checkpoint.safetensors"
expect "bench help" 0 "train" -- "$B/apps/meg-bench" --help
for opt in matmul dispatch train mala mlp peak kernels list-devices --device --json --shape --variant --transpose \
    --reps --data --width --iters --max-submit --profile --chains --steps; do
  grep -q -- "$opt" "$T/out" || bad "bench help mentions $opt"
done

# meg-bench --json: exit 0, the last line one JSON object (python3 -m json.tool) with PATTERN in it
# bench_json NAME PATTERN -- command...
bench_json() {
  local name=$1 pat=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local st=$?
  if [ $st -ne 0 ]; then bad "$name: exit status $st"; sed 's/^/     /' "$T/err" | tail -5; return; fi
  tail -n 1 "$T/out" > "$T/last.json"
  if [ "$have_python" = 1 ] && ! python3 -m json.tool "$T/last.json" >/dev/null 2>"$T/jerr"; then
    bad "$name: last line is not valid JSON"; sed 's/^/     /' "$T/jerr" "$T/last.json" | tail -5; return
  fi
  if ! grep -qE -- "$pat" "$T/last.json"; then bad "$name: JSON lacks /$pat/"; tail -c 400 "$T/last.json"; echo; return; fi
  ok "$name"
}
have_python=0
if python3 -c 'import json' 2>/dev/null; then have_python=1; else echo "skip JSON syntax checks (no python3)"; fi
MB="$B/apps/meg-bench"
bench_json "bench list-devices --json" '"devices": \[\{"index": 0, "name": ' -- "$MB" list-devices --json
bench_json "bench --list-devices --json" '"memory_bytes": [0-9]+' -- "$MB" --list-devices --json
bench_json "bench dispatch --json" '"name": "dispatch_submit_each", "dispatches": 200, "us_per_dispatch": [0-9.e+-]+\}' \
  -- "$MB" dispatch --json
bench_json "bench matmul --json" '"results": \[\{"name": "matmul", "m": 64, "k": 64, "n": 64, "layout": "nt", "variant": 0, "ms": ' \
  -- "$MB" matmul --shape 64x64x64 --reps 2 --transpose nt --json
bench_json "bench mlp --json" '"name": "mlp", "fusion": false, .*"ms_per_run": [0-9.e+-]+\}\]\}$' -- "$MB" mlp --reps 1 --json
bench_json "bench mala --json" '"name": "mala", .*"steps_per_s": [0-9.e+-]+' \
  -- "$MB" mala --chains 4 --steps 2 --width 8 --hidden 1 --json
bench_json "bench train --json" '"results": \[\{"name": "train", "data": "25gaussians", "width": 8, .*"its_per_s": [0-9.e+-]+' \
  -- "$MB" train --width 8 --hidden 1 --batch 16 --n-energy 1 --iters 1 --json
expect "bench bad flag" 2 'unknown or incomplete option "--frobnicate" \(see --help\)' -- "$MB" matmul --frobnicate --json
[ -s "$T/out" ] && bad "bench bad flag printed to stdout" || ok "bench bad flag printed nothing to stdout"
expect "bench flag without its value" 2 'unknown or incomplete option "--shape"' -- "$MB" matmul --shape
expect "bench bad command" 2 'unknown command "frobnicate"' -- "$MB" frobnicate
expect "bench bad number" 2 '--reps expects an integer from 1 to 256, got "0"' -- "$MB" dispatch --reps 0
expect "bench bad shape" 2 '--shape expects MxKxN with positive integers, got "64x0x64"' -- "$MB" matmul --shape 64x0x64
expect "bench bad layout" 2 '--transpose expects nn, tn, nt or tt, got "nx"' -- "$MB" matmul --transpose nx
expect "bench bad device" 1 'no Vulkan device matches "no-such-device"' -- "$MB" dispatch --device no-such-device --json

[ $fails -eq 0 ] && echo "cli: all passed" || echo "cli: $fails failed"
exit $((fails > 0))

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

[ $fails -eq 0 ] && echo "cli: all passed" || echo "cli: $fails failed"
exit $((fails > 0))

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
for opt in --data --iters --batch --width --zdim --lr --lr-decay --lr-final --lambda --n-energy --seed --out --device --log-every --resume --shuffle --label-column csv:PATH csv-unscaled:PATH; do
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
expect "resume of a CSV model needs its --data" nonzero "pass --data PATH" -- "$B/apps/meg-train" --resume --out "$T/run" --iters 5
[ "$before" = "$(sum)" ] && ok "refused resume left the outputs alone" || bad "refused resume changed the outputs"
expect "resume continues" 0 "samples.csv" -- "$B/apps/meg-train" --resume --data "$T/good.csv" --out "$T/run" --iters 5
grep -q '"iter": 5' "$T/run/log.jsonl" && ok "resumed log reaches iteration 5" || bad "resumed log reaches iteration 5"
cp "$T/run/checkpoint.safetensors" "$T/keep.safetensors"
head -c 300 "$T/keep.safetensors" > "$T/run/checkpoint.safetensors"
expect "torn checkpoint" nonzero "checkpoint.safetensors" -- "$B/apps/meg-train" --resume --data "$T/good.csv" --out "$T/run" --iters 6
cmp -s <(head -c 300 "$T/keep.safetensors") "$T/run/checkpoint.safetensors" && ok "torn checkpoint left as it was" || bad "torn checkpoint was changed"
expect "diverging run stops" nonzero "not finite" -- "$B/apps/meg-train" --data "$T/good.csv" --out "$T/div" "${TINY[@]}" --lr 1e30 --iters 20
[ ! -e "$T/div/samples.png" ] && ok "diverged run wrote no pictures" || bad "diverged run wrote pictures"
expect "eval of a torn checkpoint" nonzero "checkpoint.safetensors" -- "$B/apps/meg-eval" toy --checkpoint "$T/run/checkpoint.safetensors"
expect "bench help" 0 "train" -- "$B/apps/meg-bench" --help
for opt in matmul dispatch train mala mlp peak kernels list-devices --device --json --shape --variant --transpose \
    --reps --data --width --iters --max-submit --profile --peak --chains --steps; do
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


# ---- faults found with bad input (issue 11); each check failed before its fix
# restamp IN OUT KEY=VALUE...: a copy of a checkpoint with metadata changed (KEY= drops it)
restamp() {
  python3 - "$@" <<'PY'
import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
for kv in sys.argv[3:]:
    k, v = kv.split('=', 1)
    if v == '': h['__metadata__'].pop(k, None)
    else: h['__metadata__'][k] = v.encode().decode('unicode_escape')
nh = json.dumps(h).encode()
open(dst, 'wb').write(struct.pack('<Q', len(nh)) + nh + b[8 + n:])
PY
}
if [ "$have_python" = 1 ]; then
  CK="$T/keep.safetensors"   # the run's checkpoint from before the torn-file test
  restamp "$CK" "$T/passwd.safetensors" data=/etc/passwd
  expect "a checkpoint's data is never opened as a path" nonzero "pass --data PATH" -- timeout 20 "$B/apps/meg-eval" toy --checkpoint "$T/passwd.safetensors"
  grep -q "root:" "$T/err" "$T/out" && bad "meg-eval echoed /etc/passwd" || ok "meg-eval did not read /etc/passwd"
  restamp "$CK" "$T/zero.safetensors" data=/dev/zero
  expect "a checkpoint naming /dev/zero is refused at once" nonzero "pass --data PATH" -- timeout 10 "$B/apps/meg-eval" toy --checkpoint "$T/zero.safetensors"
  expect "meg-eval takes the CSV path from the user" 0 '"e_data": ' -- "$B/apps/meg-eval" toy --checkpoint "$CK" --data "$T/good.csv" --samples 50 --grid 16
  restamp "$CK" "$T/mcmc.safetensors" mcmc_steps=1000 mcmc_step_size=0.01
  expect "mcmc_steps without mcmc.z is refused before any graph" nonzero 'mcmc.z' -- timeout 10 "$B/apps/meg-eval" toy --checkpoint "$T/mcmc.safetensors" --data "$T/good.csv"
  for dim in 0 3; do
    restamp "$CK" "$T/dim$dim.safetensors" dim=$dim
    expect "dim=$dim is refused by meg-eval" nonzero '"dim" = "'$dim'" is not an integer in \[2, 2\]' -- "$B/apps/meg-eval" toy --checkpoint "$T/dim$dim.safetensors" --data "$T/good.csv"
    expect "dim=$dim is refused by meg-sample" nonzero '"dim" = "'$dim'"' -- "$B/apps/meg-sample" --checkpoint "$T/dim$dim.safetensors" --out "$T/s$dim"
  done
  mkdir -p "$T/dimrun" && cp "$T/dim3.safetensors" "$T/dimrun/checkpoint.safetensors"
  expect "dim=3 is refused by meg-train --resume" nonzero '"dim" = "3"' -- "$B/apps/meg-train" --resume --data "$T/good.csv" --out "$T/dimrun" --iters 9
  cmp -s "$T/dim3.safetensors" "$T/dimrun/checkpoint.safetensors" && ok "refused resume left the checkpoint alone" || bad "refused resume rewrote the checkpoint"
  restamp "$CK" "$T/esc.safetensors" 'format=\x1b[2Jevil'
  expect "bytes from a file are escaped in messages" nonzero 'x1b\[2Jevil' -- "$B/apps/meg-eval" toy --checkpoint "$T/esc.safetensors"
  grep -q $'\x1b' "$T/err" && bad "an escape byte reached the terminal" || ok "no escape byte in the message"
  # NaN weights: no JSON with nan in it, no half object on stdout
  python3 - "$CK" "$T/nan.safetensors" <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
s, e = h['E.w0']['data_offsets']
b[8 + n + s:8 + n + e] = struct.pack('<f', float('nan')) * ((e - s) // 4)
open(sys.argv[2], 'wb').write(b)
PY
  expect "meg-eval on NaN weights fails" nonzero "not finite" -- "$B/apps/meg-eval" toy --checkpoint "$T/nan.safetensors" --data "$T/good.csv" --samples 50 --grid 16
  [ -s "$T/out" ] && bad "meg-eval printed a half object: $(head -c 100 "$T/out")" || ok "meg-eval printed nothing on failure"
fi
expect "meg-sample's defaults: the prior and an adapted step" 0 '"burn_in": 200, .*"prior": true, "target_accept": 0.574' -- "$B/apps/meg-sample" --checkpoint "$T/keep.safetensors" --out "$T/sd" --chains 4 --steps 2 --grid 16
expect "meg-sample --paper: the seed's sampler" 0 '"burn_in": 0, "step_size": 0.01, .*"prior": false, "target_accept": null' -- "$B/apps/meg-sample" --checkpoint "$T/keep.safetensors" --out "$T/sp" --chains 4 --steps 2 --grid 16 --paper
expect "meg-sample --paper goes with no prior" 2 "paper" -- "$B/apps/meg-sample" --checkpoint "$T/keep.safetensors" --paper --prior
expect "meg-sample --steps 0" 0 '"acceptance": null' -- "$B/apps/meg-sample" --checkpoint "$T/keep.safetensors" --out "$T/s0" --chains 4 --steps 0 --grid 16
if [ "$have_python" = 1 ]; then
  tail -n 1 "$T/out" | python3 -m json.tool >/dev/null && ok "meg-sample --steps 0 prints valid JSON" || bad "meg-sample --steps 0 prints invalid JSON"
fi
: > "$T/a_file"
expect "meg-sample refuses an unusable --out before any work" nonzero "a_file exists and is not a folder" -- timeout 10 "$B/apps/meg-sample" --checkpoint "$T/keep.safetensors" --out "$T/a_file" --chains 4 --steps 100000
grep -q "MALA" "$T/err" && bad "meg-sample started its chains first" || ok "meg-sample did no work"
expect "CSV with no line ends" nonzero "/dev/zero:1: line longer than" -- timeout 10 "$B/apps/meg-train" --data /dev/zero --out "$T/z" "${TINY[@]}" --iters 1
expect "a batch no dispatch can hold fails at planning" nonzero "workgroups, more than this device" -- env MEG_LIMIT_GROUPS=4 timeout -s KILL 60 "$B/apps/meg-train" --batch 65536 --out "$T/big" --width 8 --hidden 1 --iters 1
expect "an empty device name" nonzero "empty device name" -- "$B/apps/meg-train" --device "" --out "$T/dev" "${TINY[@]}" --iters 1
# a diverged run logs null, not nan
grep -q "nan" "$T/div/log.jsonl" && bad "a diverged run wrote nan into log.jsonl" || ok "a diverged run's log has no nan"
if [ "$have_python" = 1 ]; then
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/div/log.jsonl" 2>/dev/null \
    && ok "a diverged run's log is JSON" || bad "a diverged run's log is not JSON"
fi
# SIGTERM stops at the next submit and saves; the log holds exactly the checkpoint's rows
"$B/apps/meg-train" --data 8gaussians --out "$T/term" "${TINY[@]}" --iters 100000 --checkpoint-every 5 --max-submit 1 >/dev/null 2>"$T/term.err" &
tp=$!
for _ in $(seq 100); do [ -s "$T/term/checkpoint.safetensors" ] && break; sleep 0.2; done
sleep 1
kill -TERM $tp; wait $tp; st=$?
[ $st -eq 130 ] && ok "SIGTERM stops the run (exit 130)" || bad "SIGTERM: exit status $st"
grep -q "interrupted at iteration" "$T/term.err" && ok "SIGTERM saved the run" || bad "SIGTERM did not save the run"
if [ "$have_python" = 1 ]; then
  python3 - "$T/term" <<'PY' && ok "the log holds the checkpoint's rows" || bad "the log and the checkpoint disagree"
import json, struct, sys
b = open(sys.argv[1] + '/checkpoint.safetensors', 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
m = json.loads(b[8:8 + n])['__metadata__']
rows = open(sys.argv[1] + '/log.jsonl').read().splitlines()
assert len(rows) == int(m['log_rows']), (len(rows), m['log_rows'])
assert json.loads(rows[-1])['iter'] == int(m['iteration']), (rows[-1], m['iteration'])
PY
fi
# --force over a finished run: until the new run's first checkpoint the old files stay as they were
tsum() { (cd "$T/term" && sha256sum checkpoint.safetensors log.jsonl); }
tbefore=$(tsum)
"$B/apps/meg-train" --data 8gaussians --out "$T/term" "${TINY[@]}" --iters 100000 --force --checkpoint-every 100000 --max-submit 1 >/dev/null 2>&1 &
tp=$!
sleep 4
kill -KILL $tp; wait $tp 2>/dev/null
[ "$tbefore" = "$(tsum)" ] && ok "a killed --force run left the old checkpoint and log together" || bad "a killed --force run broke the old log"
expect "resume after the killed run" 0 "samples.csv" -- "$B/apps/meg-train" --resume --out "$T/term" --iters $(( $(grep -c . "$T/term/log.jsonl") + 2 ))
[ -e "$T/term/log.jsonl.new" ] && bad "resume left log.jsonl.new" || ok "resume removed the stale log.jsonl.new"

# ---- meg-eval fd: feature sets from safetensors files (no device)
expect "meg-eval help covers fd" 0 "meg-eval fd --a FILE --b FILE" -- "$B/apps/meg-eval" --help
for opt in --a --b '"features"' '"fd"' '"n_a"' '"n_b"' '"dim"' toy --checkpoint; do
  grep -q -- "$opt" "$T/out" || bad "meg-eval help mentions $opt"
done
if [ "$have_python" = 1 ]; then
  # feats FILE NAME N D V...: an F32 tensor NAME [N, D] (D = 0: 1-D [N]) holding V... (cycled)
  feats() {
    python3 - "$@" <<'PY'
import json, struct, sys
path, name, n, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
vals = [float(v) for v in sys.argv[5:]]
count = n * max(d, 1)
data = struct.pack('<%df' % count, *[vals[i % len(vals)] for i in range(count)])
h = json.dumps({name: {"dtype": "F32", "shape": [n, d] if d else [n], "data_offsets": [0, len(data)]}}).encode()
open(path, 'wb').write(struct.pack('<Q', len(h)) + h + data)
PY
  }
  feats "$T/fa.st" features 2 1 -1 1
  feats "$T/fb.st" features 2 1 2 4
  # means 0 and 3, variances 2 and 2: FD = 9 + 2 + 2 - 2 * 2
  bench_json "meg-eval fd of two 1-D sets (known answer 9)" '^\{"fd": (9|8\.99999999999[0-9]*|9\.00000000000[0-9]*), "n_a": 2, "n_b": 2, "dim": 1, ' \
    -- "$B/apps/meg-eval" fd --a "$T/fa.st" --b "$T/fb.st"
  expect "meg-eval fd: a missing file" 1 "$T/none.st: cannot open" -- "$B/apps/meg-eval" fd --a "$T/fa.st" --b "$T/none.st"
  [ -s "$T/out" ] && bad "meg-eval fd printed to stdout on failure" || ok "meg-eval fd printed nothing on failure"
  feats "$T/img.st" images 2 1 0 1
  expect "meg-eval fd: no tensor 'features'" 1 "img.st: no tensor 'features' \[N, D\] \(the file has 'images'\)" \
    -- "$B/apps/meg-eval" fd --a "$T/img.st" --b "$T/fb.st"
  feats "$T/f3.st" features 4 3 0.5 1 -2
  expect "meg-eval fd: mismatched D" 1 "differ in D: .*fa.st has 'features' \[2, 1\], .*f3.st has \[4, 3\]" \
    -- "$B/apps/meg-eval" fd --a "$T/fa.st" --b "$T/f3.st"
  feats "$T/flat.st" features 4 0 1 2
  expect "meg-eval fd: features that are not [N, D]" 1 "flat.st: tensor 'features' has shape \[4\], expected \[N, D\]" \
    -- "$B/apps/meg-eval" fd --a "$T/flat.st" --b "$T/fb.st"
  feats "$T/one.st" features 1 1 5
  expect "meg-eval fd: one row has no covariance" 1 "one.st: .*N >= 2" -- "$B/apps/meg-eval" fd --a "$T/fa.st" --b "$T/one.st"
  feats "$T/nan.st" features 2 1 1 nan
  expect "meg-eval fd: a NaN feature names its file and row" 1 "nan.st: feature moments: row 1, feature 0 is not finite" \
    -- "$B/apps/meg-eval" fd --a "$T/fa.st" --b "$T/nan.st"
fi
expect "meg-eval fd needs both files" 2 "fd needs --a FILE and --b FILE" -- "$B/apps/meg-eval" fd --a "$T/fa.st"
expect "meg-eval fd takes no toy options" 2 'unknown or incomplete option "--checkpoint" for fd' -- "$B/apps/meg-eval" fd --checkpoint x
expect "meg-eval: an unknown command" 2 'unknown command "frobnicate"' -- "$B/apps/meg-eval" frobnicate

# ---- the classifier and meg-eval images, on a tiny fake MNIST folder (IDX files written here)
expect "meg-train: an unknown model" 2 '--model expects meg, wgan-gp, classifier or rbm, got "frobnicate"' -- "$B/apps/meg-train" --model frobnicate
# a WGAN-GP checkpoint resumes as one without --model (its objective is in its metadata), not as MEG
expect "wgan-gp tiny run" 0 "samples.csv" -- "$B/apps/meg-train" --model wgan-gp --data 8gaussians --out "$T/wg" "${TINY[@]}" --iters 2
expect "wgan-gp resumes without --model" 0 "samples.csv" -- "$B/apps/meg-train" --resume --out "$T/wg" --iters 4
grep -q '"iter": 4, .*"wasserstein"' "$T/wg/log.jsonl" && ok "resumed wgan-gp log reaches iteration 4" || bad "resumed wgan-gp log reaches iteration 4"
expect "wgan-gp checkpoint refuses --model meg" nonzero "resume it with --model wgan-gp" -- "$B/apps/meg-train" --model meg --resume --out "$T/wg" --iters 6
# quality curves drawn from curve.jsonl rows
printf '{"iteration": 100, "modes": 8, "modes_captured": 2, "hq_share": 0.1, "energy_distance": 0.5}\n{"iteration": 200, "modes": 8, "modes_captured": 5, "hq_share": 0.3, "energy_distance": null}\n' > "$T/c1.jsonl"
expect "curves: a picture and the last and best numbers" 0 '"last_modes_captured": 5, "last_hq_share": 0.3, "last_energy_distance": 0.5, "best_hq_share": 0.3, "best_hq_share_at": 200' -- "$B/apps/meg-eval" curves --curve "$T/c1.jsonl=one" --curve "$T/c1.jsonl" --out "$T/curves.png"
[ -s "$T/curves.png" ] && ok "curves wrote its PNG" || bad "curves wrote its PNG"
expect "curves: a missing file is named" 1 "none.jsonl: cannot open" -- "$B/apps/meg-eval" curves --curve "$T/none.jsonl" --out "$T/c2.png"
printf '{"modes": 8}\n' > "$T/c3.jsonl"
expect "curves: rows without iterations are refused" 1 'c3.jsonl: no rows with an "iteration"' -- "$B/apps/meg-eval" curves --curve "$T/c3.jsonl" --out "$T/c2.png"
[ ! -e "$T/c2.png" ] && ok "refused curves wrote no picture" || bad "refused curves wrote a picture"
# the generator's average of weights: kept in the checkpoint, sampled from, checked on resume
expect "ema tiny run" 0 "samples from G's average, decay 0.9" -- "$B/apps/meg-train" --data 8gaussians --ema 0.9 --out "$T/ema" "${TINY[@]}" --iters 2
expect "ema resume with another decay" nonzero "--ema differs" -- "$B/apps/meg-train" --resume --ema 0.5 --out "$T/ema" --iters 4
expect "ema resumes" 0 "samples from G's average, decay 0.9" -- "$B/apps/meg-train" --resume --out "$T/ema" --iters 4
expect "ema checkpoint evaluates" 0 '"modes_captured"' -- "$B/apps/meg-eval" toy --checkpoint "$T/ema/checkpoint.safetensors" --samples 100
expect "ema decay 1 refused" 2 "--ema 1: a decay in \[0, 1\)" -- "$B/apps/meg-train" --data 8gaussians --ema 1 --out "$T/ema1" "${TINY[@]}" --iters 1
expect "ema refused for images" 2 "--ema is for the MLP generators" -- "$B/apps/meg-train" --data mnist --ema 0.9 --out "$T/ema2" --iters 1
# a learning-rate decay: in the checkpoint, checked on resume, and a resume continues the schedule exactly
expect "lr decay tiny run" 0 "lr decays to 0.5 x over 3 iterations" -- "$B/apps/meg-train" --data 8gaussians --lr-decay 3 --lr-final 0.5 --out "$T/lrd" "${TINY[@]}" --iters 2
expect "lr decay resume with another decay" nonzero "--lr-decay differs" -- "$B/apps/meg-train" --resume --lr-decay 5 --out "$T/lrd" --iters 4
expect "lr decay resumes" 0 "lr decays to 0.5 x over 3 iterations" -- "$B/apps/meg-train" --resume --out "$T/lrd" --samples 10 --iters 4
expect "lr decay straight run" 0 "lr decays" -- "$B/apps/meg-train" --data 8gaussians --lr-decay 3 --lr-final 0.5 --out "$T/lrd4" "${TINY[@]}" --iters 4
cmp -s "$T/lrd/samples.csv" "$T/lrd4/samples.csv" && ok "lr decay: stopped and resumed equals straight through" || bad "lr decay: resumed samples differ from a straight run"
expect "lr final past 1 refused" 2 "--lr-final 2: a fraction of --lr in \[0, 1\]" -- "$B/apps/meg-train" --data 8gaussians --lr-decay 3 --lr-final 2 --out "$T/lrd2" "${TINY[@]}" --iters 1
# the stable 2-D profile: lambda 0.01, for 2-D sets and MEG only, checked on resume
expect "stable profile" 0 "lambda 0.01, .*lr decays to 0 x over 20000 iterations" -- "$B/apps/meg-train" --data 8gaussians --profile stable --out "$T/stab" "${TINY[@]}" --iters 2
expect "stable profile resumes" 0 "lambda 0.01, .*lr decays to 0 x over 20000 iterations" -- "$B/apps/meg-train" --resume --profile stable --out "$T/stab" --iters 3
expect "past a decay to 0 the run says nothing changes" 0 "reaches 0 at iteration 2, so iterations 3 to 4 change no weight" -- "$B/apps/meg-train" --data 8gaussians --profile stable --lr-decay 2 --out "$T/stab4" "${TINY[@]}" --iters 4
expect "stable profile on a lambda 0.1 checkpoint" nonzero "--profile stable differs from the checkpoint's configuration \(lambda 0.1" -- "$B/apps/meg-train" --resume --profile stable --out "$T/lrd" --iters 5
expect "stable profile: an option given wins" 0 "lambda 0.5," -- "$B/apps/meg-train" --data 8gaussians --profile stable --lambda 0.5 --out "$T/stab2" "${TINY[@]}" --iters 1
expect "stable profile is not for images" 2 "--profile stable is not for mnist" -- "$B/apps/meg-train" --data mnist --profile stable --out "$T/stab3" --iters 1
expect "quick profile is not for 2-D sets" 2 "--profile quick is not for 8gaussians" -- "$B/apps/meg-train" --data 8gaussians --profile quick --out "$T/stab3" --iters 1
expect "stable profile is MEG's" 2 "--profile stable is MEG's" -- "$B/apps/meg-train" --data 8gaussians --model wgan-gp --profile stable --out "$T/stab3" --iters 1
expect "rbm help" 0 "test_ll_nats" -- "$B/apps/meg-train" --model rbm --help
for opt in --data --data-dir --cd --pcd --hidden --batch --lr --adam --epochs --iters --binarize --seed --ais-runs \
    --ais-betas --test-n --sample-steps --out --resume --force --log-every --device; do
  grep -q -- "$opt" "$T/out" || bad "rbm help mentions $opt"
done
expect "rbm: --cd and --pcd" 2 "--cd and --pcd contradict" -- "$B/apps/meg-train" --model rbm --cd 2 --pcd 1
expect "rbm: a bad binarisation" 2 'expects threshold or stochastic, got "half"' -- "$B/apps/meg-train" --model rbm --binarize half
expect "rbm: data not fetched" 1 "tools/data mnist" -- "$B/apps/meg-train" --model rbm --data-dir "$T/nodata" --out "$T/rbm0"
expect "classifier help" 0 "test_accuracy" -- "$B/apps/meg-train" --model classifier --help
for opt in --data --data-dir --epochs --iters --batch --channels --hidden --dropout --lr --seed --out --resume --force; do
  grep -q -- "$opt" "$T/out" || bad "classifier help mentions $opt"
done
expect "classifier: an unknown data set" 2 'expects mnist or fashion, got "cifar"' -- "$B/apps/meg-train" --model classifier --data cifar
expect "classifier: data not fetched" 1 "tools/data mnist" -- "$B/apps/meg-train" --model classifier --data-dir "$T/nodata" --out "$T/clf0"
if [ "$have_python" = 1 ]; then
  python3 - "$T/fake/mnist" <<'PY'
import os, random, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True); rnd = random.Random(3)
for split, n in (("train", 120), ("t10k", 40)):
    labels = [i % 10 for i in range(n)]
    pix = bytearray()
    for l in labels:   # digit l: a bright column at 2 + 2 l on noise
        im = [rnd.randrange(0, 60) for _ in range(784)]
        for r in range(28): im[r * 28 + 2 + 2 * l] = 255
        pix += bytes(im)
    open(f"{d}/{split}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 28, 28) + pix)
    open(f"{d}/{split}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + bytes(labels))
PY
  CLF=(--model classifier --data-dir "$T/fake" --channels 2 --hidden 8 --batch 16 --log-every 5)
  expect "tiny classifier run" 0 '"test_accuracy": [01]\.[0-9]+' -- "$B/apps/meg-train" "${CLF[@]}" --iters 10 --out "$T/clf"
  for f in classifier.safetensors log.jsonl; do [ -s "$T/clf/$f" ] || bad "classifier run wrote $f"; done
  expect "classifier: existing file needs --resume or --force" 1 "--resume" -- "$B/apps/meg-train" "${CLF[@]}" --iters 10 --out "$T/clf"
  expect "classifier: resume with other channels" 1 "--channels differs" -- "$B/apps/meg-train" "${CLF[@]}" --channels 3 --resume --iters 20 --out "$T/clf"
  expect "classifier resumes" 0 '"iter": 20' -- "$B/apps/meg-train" "${CLF[@]}" --resume --iters 20 --out "$T/clf"
  [ "$(grep -c . "$T/clf/log.jsonl")" = 4 ] && ok "resumed classifier log has 4 rows" || bad "resumed classifier log has $(grep -c . "$T/clf/log.jsonl") rows"
  expect "images: a real set scored" 0 '"fd": [0-9.e+-]+, "fd_images": 50, .*"score": ' -- "$B/apps/meg-eval" images --samples mnist --n 50 --classifier "$T/clf/classifier.safetensors" --data-dir "$T/fake"
  expect "images: StackedMNIST modes" 0 '"modes": [0-9]+, "modes_total": 1000, "kl_train": ' -- "$B/apps/meg-eval" images --samples stackedmnist3 --n 30 --classifier "$T/clf/classifier.safetensors" --data-dir "$T/fake"
  expect "images: a MEG checkpoint is not a classifier" 1 "not a classifier file" -- "$B/apps/meg-eval" images --samples mnist --classifier "$T/keep.safetensors" --data-dir "$T/fake"
  # MEG on images: tiny convolutional networks on the fake digits, scored by the tiny classifier as they train
  IMG=(--data mnist --data-dir "$T/fake" --width 16 --zdim 8 --batch 8 --n-energy 1 --log-every 2 --checkpoint-every 2 --samples 20)
  expect "image MEG trains and scores itself" 0 '"iter": 4, .*"fd": [0-9.e+-]+, "score": ' -- "$B/apps/meg-train" "${IMG[@]}" --iters 4 --classifier "$T/clf/classifier.safetensors" --eval-n 30 --out "$T/img"
  for f in checkpoint.safetensors samples.png samples.safetensors log.jsonl curve.png; do [ -s "$T/img/$f" ] || bad "image MEG wrote $f"; done
  [ "$(grep -c '"eval_n": 30' "$T/img/log.jsonl")" = 2 ] && ok "image MEG logged 2 evaluations" || bad "image MEG logged $(grep -c '"eval_n"' "$T/img/log.jsonl") evaluations"
  expect "image MEG resumes" 0 '"iter": 6' -- "$B/apps/meg-train" "${IMG[@]}" --iters 6 --resume --out "$T/img"
  expect "image MEG: resume with the other penalty norm" 1 "--penalty-norm differs" -- "$B/apps/meg-train" "${IMG[@]}" --iters 8 --resume --penalty-norm channel --out "$T/img"
  expect "image samples scored" 0 '"n": 20, "channels": 1, ' -- "$B/apps/meg-eval" images --samples "$T/img/samples.safetensors" --classifier "$T/clf/classifier.safetensors" --data-dir "$T/fake"
  expect "image MALA, latent, scored" 0 '"generator": \{"fd": [0-9.e+-]+, "score": [0-9.e+-]+\}, "mala": \{"fd": ' -- "$B/apps/meg-sample" --checkpoint "$T/img/checkpoint.safetensors" --chains 8 --steps 4 --burn-in 2 --classifier "$T/clf/classifier.safetensors" --data-dir "$T/fake" --out "$T/imgs"
  for f in start.png end.png chains.png end.safetensors; do [ -s "$T/imgs/$f" ] || bad "image MALA wrote $f"; done
  expect "image MALA, visible" 0 '"space": "visible", "chains": 8, ' -- "$B/apps/meg-sample" --checkpoint "$T/img/checkpoint.safetensors" --chains 8 --steps 3 --space visible --out "$T/imgv"
  expect "meg-eval toy refuses an image model" 1 "is an image model" -- "$B/apps/meg-eval" toy --checkpoint "$T/img/checkpoint.safetensors"
  HO=(--data mnist-heldout:3 --data-dir "$T/fake" --width 16 --zdim 8 --batch 8 --n-energy 1 --log-every 2 --checkpoint-every 2 --eval-every 2 --samples 10 --out "$T/ho")
  expect "held-out digit: a short run scores its test split" 0 '"energy_auprc": [0-9.e+-]+, .*"last_k": 2, ' -- "$B/apps/meg-train" "${HO[@]}" --iters 4
  expect "held-out digit: meg-eval anomaly" 0 '"n": 45, "anomalies": 16, ' -- "$B/apps/meg-eval" anomaly --checkpoint "$T/ho/checkpoint.safetensors" --data-dir "$T/fake"
  expect "toy sampling takes no classifier" 1 "scores image models" -- "$B/apps/meg-sample" --checkpoint "$T/keep.safetensors" --classifier "$T/clf/classifier.safetensors" --out "$T/imgx"
  feats "$T/img5.st" images 2 0 0
  RBM=(--model rbm --data-dir "$T/fake" --hidden 8 --batch 16 --log-every 5 --ais-runs 4 --ais-betas 20 --sample-steps 5)
  expect "tiny RBM run (CD-2)" 0 '"test_ll_nats": -[0-9.]+, "test_ll_lo": ' -- "$B/apps/meg-train" "${RBM[@]}" --cd 2 --iters 10 --out "$T/rbm"
  tail -n 1 "$T/out" | python3 -m json.tool >/dev/null && ok "RBM summary is JSON" || bad "RBM summary is JSON"
  for f in checkpoint.safetensors log.jsonl filters.png reconstructions.png samples.png; do [ -s "$T/rbm/$f" ] || bad "RBM run wrote $f"; done
  [ "$(grep -c . "$T/rbm/log.jsonl")" = 2 ] && ok "RBM log has 2 rows" || bad "RBM log has $(grep -c . "$T/rbm/log.jsonl") rows"
  expect "RBM: existing checkpoint needs --resume or --force" 1 "--resume to continue it or --force" -- "$B/apps/meg-train" "${RBM[@]}" --iters 10 --out "$T/rbm"
  expect "RBM: resume with other hidden units" 1 "--hidden differs" -- "$B/apps/meg-train" "${RBM[@]}" --hidden 9 --resume --iters 20 --out "$T/rbm"
  mkdir -p "$T/rbmclf" && cp "$T/clf/classifier.safetensors" "$T/rbmclf/checkpoint.safetensors"
  expect "RBM: resume of a classifier file" 1 "not a checkpoint of meg-train --model rbm" -- "$B/apps/meg-train" --model rbm --resume --out "$T/rbmclf" --data-dir "$T/fake"
  expect "RBM resumes" 0 '"chains": "cd", "k": 2, .*"iter": 20' -- "$B/apps/meg-train" "${RBM[@]}" --resume --iters 20 --out "$T/rbm"
  [ "$(grep -c . "$T/rbm/log.jsonl")" = 4 ] && ok "resumed RBM log has 4 rows" || bad "resumed RBM log has $(grep -c . "$T/rbm/log.jsonl") rows"
  expect "tiny RBM run (PCD-1, Adam, stochastic)" 0 '"chains": "pcd", "k": 1, .*"optimizer": "adam", .*"binarize": "stochastic"' -- "$B/apps/meg-train" "${RBM[@]}" --pcd 1 --adam --binarize stochastic --iters 10 --out "$T/rbm" --force
  expect "images: a file without [N, C, H, W] images" 1 "img5.st" -- "$B/apps/meg-eval" images --samples "$T/img5.st" --classifier "$T/clf/classifier.safetensors" --data-dir "$T/fake"
fi
expect "meg-train: no profile for tables" 2 "--profile paper is not for csv:" -- "$B/apps/meg-train" --data "csv:$T/good.csv" --profile paper
expect "meg-train: --classifier is for images" 2 "--classifier and --penalty-norm are for image sets" -- "$B/apps/meg-train" --data 8gaussians --classifier "$T/none.safetensors"
expect "meg-train: an unknown profile" 2 '--profile expects paper, quick \(images\) or stable \(2-D sets\), got "fast"' -- "$B/apps/meg-train" --data mnist --profile fast

# ---- anomaly detection on a small KDD-like file (41 fields and a label per row, written here)
if [ "$have_python" = 1 ]; then
  python3 - "$T/kdd.gz" <<'PY'
import gzip, random, sys
# a small KDD-like file: 41 fields and a label, categories from small lists
rnd = random.Random(5)
rows = []
for i in range(400):
    normal = rnd.random() < 0.25
    proto = rnd.choice(["tcp", "udp", "icmp"])
    service = rnd.choice(["http", "smtp", "ftp", "ecr_i", "private"])
    flag = rnd.choice(["SF", "S0", "REJ"])
    nums = [rnd.randrange(0, 50) if normal else rnd.randrange(100, 1000) for _ in range(3)]
    f = [str(rnd.randrange(0, 5))] + [proto, service, flag] + [str(v) for v in nums[:2]]
    f += [str(rnd.randrange(0, 2))]  # land
    f += [str(rnd.randrange(0, 3)) for _ in range(4)]  # wrong_fragment .. num_failed_logins (4)
    f += [str(rnd.randrange(0, 2))]  # logged_in
    f += [str(rnd.randrange(0, 3)) for _ in range(8)]
    f += [str(rnd.randrange(0, 2))]  # is_host_login
    f += [str(rnd.randrange(0, 2))]  # is_guest_login
    f += [str(rnd.randrange(0, 500) if not normal else rnd.randrange(0, 20)) for _ in range(2)]
    f += ["%.2f" % rnd.random() for _ in range(7)]
    f += [str(rnd.randrange(0, 255)) for _ in range(2)]
    f += ["%.2f" % (rnd.random() * (0.2 if normal else 1)) for _ in range(8)]
    assert len(f) == 41, len(f)
    rows.append(",".join(f) + "," + ("normal." if normal else rnd.choice(["smurf.", "neptune."])))
with gzip.open(sys.argv[1], "wt") as out:
    out.write("\n".join(rows) + "\n")
PY
  KDD=(--data "kdd99:$T/kdd.gz" --batch 16 --out "$T/kdd")
  expect "KDD: a short run scores its test split every epoch" 0 '"energy_f1": [0-9.e+-]+, .*"last_k": 2, "energy_precision_mean": ' -- "$B/apps/meg-train" "${KDD[@]}" --epochs 2
  [ "$(grep -c '"energy_auprc"' "$T/kdd/log.jsonl")" = 2 ] && ok "KDD log has 2 evaluations" || bad "KDD log has $(grep -c '"energy_auprc"' "$T/kdd/log.jsonl") evaluations"
  png_size() { python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8] == b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$1"; }
  [ "$(png_size "$T/kdd/curve.png")" = 1320x474 ] && ok "KDD: curve.png of the scores by epoch" || bad "KDD: curve.png: $(png_size "$T/kdd/curve.png" 2>&1)"
  rm "$T/kdd/curve.png"
  expect "KDD resumes with its --data" 0 '"last_k": 3, ' -- "$B/apps/meg-train" "${KDD[@]}" --epochs 3 --resume
  [ "$(png_size "$T/kdd/curve.png")" = 1320x474 ] && ok "KDD: curve.png redrawn by the resumed run" || bad "KDD: curve.png after the resume: $(png_size "$T/kdd/curve.png" 2>&1)"
  expect "meg-eval anomaly" 0 '"n": 20[0-9], "anomalies": [0-9]+, "percentile": 80, "energy_precision": .*"grad2_auroc": ' -- "$B/apps/meg-eval" anomaly --checkpoint "$T/kdd/checkpoint.safetensors" --data "kdd99:$T/kdd.gz"
  [ "$(grep -c . "$T/kdd/scores.csv")" -gt 200 ] && head -1 "$T/kdd/scores.csv" | grep -qx 'energy,grad2,label' && ok "scores.csv written" || bad "scores.csv written"
  zcat "$T/kdd.gz" | head -300 | gzip > "$T/kdd300.gz"
  expect "meg-eval anomaly needs the file trained on" 1 "not the file the model was trained on" -- "$B/apps/meg-eval" anomaly --checkpoint "$T/kdd/checkpoint.safetensors" --data "kdd99:$T/kdd300.gz"
  expect "meg-eval toy refuses a tabular model" 1 "is a tabular model" -- "$B/apps/meg-eval" toy --checkpoint "$T/kdd/checkpoint.safetensors"
fi
# ---- anomaly detection on a CSV table of one's own features (written by awk): 600 rows of 5
# features and a label column in the middle, every fifth row an anomaly far from the normals'
# cluster, CRLF line ends; and 50 unlabelled rows of the same features to score
awk 'BEGIN { srand(7); print "f1,f2,y,f3,f4,f5"; for (i = 0; i < 600; i++) { a = i % 5 == 0; s = a ? 4 : 0
  printf "%.4f,%.4f,%d,%.4f,%.4f,%.4f\r\n", s + rand(), s + rand(), a, s + rand(), 10 * rand(), s - rand() } }' > "$T/tab.csv"
awk 'BEGIN { srand(9); print "f1,f2,f3,f4,f5"; for (i = 0; i < 50; i++) { s = i % 5 == 0 ? 4 : 0
  printf "%.4f,%.4f,%.4f,%.4f,%.4f\n", s + rand(), s + rand(), s + rand(), 10 * rand(), s - rand() } }' > "$T/unl.csv"
expect "meg-eval anomaly help" 0 "--label-column NAME" -- "$B/apps/meg-eval" anomaly --help
for opt in csv:PATH csv-unscaled:PATH labelled --write-split --scores; do
  grep -q -- "$opt" "$T/out" || bad "meg-eval anomaly help mentions $opt"
done
CSV=(--data "csv:$T/tab.csv" --label-column y --width 8 --hidden 1 --batch 128 --out "$T/csv")
expect "CSV table: a short run scores its test half" 0 '"energy_f1": [0-9.e+-]+, .*"last_k": 1, ' -- "$B/apps/meg-train" "${CSV[@]}" --epochs 1
grep -q '(244 training rows of 5 features, 300 test rows)' "$T/err" && ok "CSV: 244 normal rows of the training half, 300 test rows" || bad "CSV: split sizes: $(grep -o '([0-9]* training rows[^)]*)' "$T/err")"
expect "CSV: --resume keeps the label column" 1 "--label-column differs from the checkpoint's" -- "$B/apps/meg-train" "${CSV[@]}" --epochs 2 --resume --label-column f1
expect "CSV: resumes with its --data (the checkpoint's scaling)" 0 '"last_k": 2, ' -- "$B/apps/meg-train" "${CSV[@]}" --epochs 2 --resume
expect "CSV: meg-eval anomaly scores the test half" 0 '"n": 300, "anomalies": 64, "percentile": 80, "energy_precision": [0-9.e+-]+, .*"grad2_auroc": [0-9.e+-]+, "labelled": true, ' -- "$B/apps/meg-eval" anomaly --checkpoint "$T/csv/checkpoint.safetensors" --data "csv:$T/tab.csv" --label-column y
[ "$(grep -c . "$T/csv/scores.csv")" = 301 ] && head -1 "$T/csv/scores.csv" | grep -qx 'energy,grad2,label' && ok "CSV: scores.csv has 300 rows and labels" || bad "CSV: scores.csv has $(grep -c . "$T/csv/scores.csv") lines"
expect "CSV: scoring a file without labels" 0 '"n": 50, "anomalies": null, "percentile": 80, "energy_precision": null, .*"grad2_auroc": null, "labelled": false, ' -- "$B/apps/meg-eval" anomaly --checkpoint "$T/csv/checkpoint.safetensors" --data "csv:$T/unl.csv" --scores "$T/unl-scores.csv"
[ "$(grep -c . "$T/unl-scores.csv")" = 51 ] && head -1 "$T/unl-scores.csv" | grep -qx 'energy,grad2' && ok "CSV: unlabelled scores.csv has 50 rows, no label" || bad "CSV: unlabelled scores.csv has $(grep -c . "$T/unl-scores.csv") lines"
cut -d, -f1-4 "$T/unl.csv" > "$T/four.csv"
expect "CSV: the feature count must be the model's" 1 "four.csv: 4 feature columns, the model of .*checkpoint.safetensors takes 5" -- "$B/apps/meg-eval" anomaly --checkpoint "$T/csv/checkpoint.safetensors" --data "csv:$T/four.csv"
expect "CSV: the labelled file needs its --label-column" 1 "tab.csv: 6 feature columns, the model of .* takes 5 \(it was trained with --label-column y: pass it" -- "$B/apps/meg-eval" anomaly --checkpoint "$T/csv/checkpoint.safetensors" --data "csv:$T/tab.csv"
expect "CSV: a scaled model scores csv:, not csv-unscaled:" 1 '--data expects csv:PATH, got "csv-unscaled:' -- "$B/apps/meg-eval" anomaly --checkpoint "$T/csv/checkpoint.safetensors" --data "csv-unscaled:$T/tab.csv" --label-column y
expect "CSV: --write-split" 0 '^\{"train": 244, "test": 300, "features": 5, ' -- "$B/apps/meg-eval" anomaly --write-split "$T/csvsplit" --data "csv:$T/tab.csv" --label-column y
expect "CSV: without labels, meg-train trains on every row" 0 '"iter": 1, .*"out": ' -- "$B/apps/meg-train" --data "csv:$T/unl.csv" --width 8 --hidden 1 --batch 64 --epochs 1 --out "$T/csvu"
grep -q '(50 training rows of 5 features, 0 test rows)' "$T/err" && ! grep -q energy_f1 "$T/out" && ok "CSV: unlabelled run trained on 50 rows, scored nothing" || bad "CSV: unlabelled run"
printf 'a,y\n1,0\n2,x\n' > "$T/badcell.csv"
expect "CSV: a bad cell names file, line and column" nonzero "badcell.csv:3: column 2 \(y\): 'x' is not a number" -- "$B/apps/meg-train" --data "csv:$T/badcell.csv" --label-column y --out "$T/csvbad"
printf 'a,y\n1,0\n2,2\n' > "$T/badlabel.csv"
expect "CSV: a label other than 0/1 names the line" nonzero "badlabel.csv:3: column 2 \(y\): label 2 is neither 0 \(normal\) nor 1 \(anomaly\)" -- "$B/apps/meg-train" --data "csv:$T/badlabel.csv" --label-column y --out "$T/csvbad"
printf 'a,y\n' > "$T/headonly.csv"
expect "CSV: a header alone" nonzero "headonly.csv: a header and no data rows" -- "$B/apps/meg-train" --data "csv:$T/headonly.csv" --out "$T/csvbad"
expect "CSV: --label-column is for csv:PATH" 2 "--label-column is for CSV tables" -- "$B/apps/meg-train" --data 8gaussians --label-column y
expect "--epochs is for anomaly sets" 2 "--epochs is for anomaly-detection sets" -- "$B/apps/meg-train" --data 8gaussians --epochs 3
expect "images needs its files" 2 "--samples S and --classifier FILE are required" -- "$B/apps/meg-eval" images --samples mnist

# ---- meg-eval figure: rows of data, samples and density
expect "figure needs checkpoints and --out" 2 "at least one --checkpoint FILE and --out FILE.png" -- "$B/apps/meg-eval" figure --out "$T/fig.png"
expect "figure of a CSV model needs its --data" 1 "pass --data PATH" -- "$B/apps/meg-eval" figure --checkpoint "$T/keep.safetensors" --out "$T/fig.png"
[ ! -e "$T/fig.png" ] && ok "failed figure wrote nothing" || bad "failed figure wrote $T/fig.png"
expect "figure of two rows" 0 '^\{"figure": ".*fig.png", "rows": \[".*good.csv: width 8, 5 iterations", ' -- "$B/apps/meg-eval" figure --checkpoint "$T/keep.safetensors" --checkpoint "$T/keep.safetensors" --data "$T/good.csv" --out "$T/fig.png" --grid 16 --samples 10
[ -s "$T/fig.png" ] && ok "figure written" || bad "figure written"

[ $fails -eq 0 ] && echo "cli: all passed" || echo "cli: $fails failed"
exit $((fails > 0))

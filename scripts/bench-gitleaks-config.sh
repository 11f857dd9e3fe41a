#!/usr/bin/env bash
# Memory and time that gitleaks configs cost `kubesecops secrets --config`: generated hostile
# configs and, when ../shared/suites/gitleaks is present, gitleaks' default config.
#   scripts/bench-gitleaks-config.sh [WORKDIR]
# Each config is loaded and used on the same generated text (one file, 1 MB of lowercase
# letters in lines of 4,000 characters) by the secrets crate's `secrets-config` example, which
# makes the library calls of `kubesecops secrets --config CONFIG DIR`, under `/usr/bin/time -v`.
# With OTHER=BINARY, that build of the example (an earlier commit's) runs beside it.
# Configs:
#   fuzz40  40 rules of `[^\n]{0,1500}`: the config the gitleaks_config fuzz target ran out of
#           memory on (about 470 MB in its ASan build)
#   wide40  40 rules of `[^\n]{0,10000}`: each regex compiles to about 10 MB
#   dfa8    8 rules of `[01]*1[01]{20}z`, `...zz`, ...: small regexes whose lazy DFA has millions of
#           states; the text of this config is 1 MB of random 0/1 digits instead
#   default gitleaks' own config/gitleaks.toml (a real config, for comparison)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/kubesecops-bench-gitleaks-config}
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$work/text" "$work/digits"
cargo build -q --release -p kubesecops-secrets --example secrets-config
bin=$target/release/examples/secrets-config

# rules NAME COUNT PATTERN-PREFIX [SUFFIX-REPEATED]: writes $work/NAME.toml
rules() {
  local name=$1 count=$2 pattern=$3 suffix=${4:-}
  # Through the environment: awk -v would turn the pattern's `\n` into a line break.
  P=$pattern S=$suffix awk -v n="$count" 'BEGIN { p = ENVIRON["P"]; s = ENVIRON["S"]
    for (i = 1; i <= n; i++) { t = ""; for (j = 0; j < i && s != ""; j++) t = t s
      printf "[[rules]]\nid = \"rule-%d\"\nregex = '\''%s%s'\''\n\n", i, p, t } }' > "$work/$name.toml"
}
rules fuzz40 40 '[^\n]{0,1500}'
rules wide40 40 '[^\n]{0,10000}'
rules dfa8 8 '[01]*1[01]{20}' z
# Deterministic texts: awk's rand() with a fixed seed.
awk 'BEGIN { srand(1); for (l = 0; l < 250; l++) { s = ""; for (i = 0; i < 4000; i++)
  s = s sprintf("%c", 97 + int(rand() * 26)); print s } }' > "$work/text/letters.txt"
awk 'BEGIN { srand(2); for (l = 0; l < 250; l++) { s = ""; for (i = 0; i < 4000; i++)
  s = s int(rand() * 2); print s } }' > "$work/digits/digits.txt"
configs="fuzz40 wide40 dfa8"
suite=../shared/suites/gitleaks/config/gitleaks.toml
if [ -f "$suite" ]; then cp "$suite" "$work/default.toml"; configs="$configs default"; fi

# run LABEL BINARY CONFIG: one line of figures
run() {
  local label=$1 binary=$2 config=$3 text=$work/text status=0
  [ "$config" = dfa8 ] && text=$work/digits
  /usr/bin/time -v -o "$work/time.txt" "$binary" "$work/$config.toml" "$text" \
    > "$work/out.txt" 2> "$work/err.txt" || status=$?
  local rss wall
  rss=$(sed -n 's/^\tMaximum resident set size (kbytes): //p' "$work/time.txt")
  wall=$(sed -n 's/^\tElapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  printf '%-8s %-6s exit %d %8.1f MB max RSS %9s wall  %s\n' "$config" "$label" "$status" \
    "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$wall" \
    "$(cat "$work/out.txt" "$work/err.txt" | head -c 200 | tr '\n' ' ')"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for config in $configs; do
  [ -n "${OTHER:-}" ] && run other "$OTHER" "$config"
  run this "$bin" "$config"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

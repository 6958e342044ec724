#!/usr/bin/env bash
# Generator speed, one thread, float32: onnx-reinit's normal and uniform
# fills beside numpy's default_rng() (Debian's python3-numpy) and beside a
# constant fill of the same bytes, in one run. Best of REPS.
#   bench/rng.sh [COUNT] [REPS]     (defaults 10000000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
reps=${2:-5}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target rng_bench -j2 >/dev/null
ours=$(build/rng_bench "$n" "$reps")
# numpy as shipped; OPENBLAS_* do not matter to its random module
peer=$(/usr/bin/python3 - "$n" "$reps" <<'PY'
import sys, time
import numpy as np
n, reps = int(sys.argv[1]), int(sys.argv[2])
g = np.random.default_rng(0)
out = np.empty(n, dtype=np.float32)
for name, f in (("numpy_normal_f32", lambda: g.standard_normal(dtype=np.float32, out=out)),
                ("numpy_uniform_f32", lambda: g.random(dtype=np.float32, out=out))):
    best = min((lambda t0: (f(), time.perf_counter() - t0)[1])(time.perf_counter())
               for _ in range(reps))
    print(f"{name} {best:.4f} {n / best:.1f}")
PY
)
printf '%s\n%s\n' "$ours" "$peer" | awk '
  { secs[$1] = $2; rate[$1] = $3; order[++k] = $1 }
  END {
    printf "| case | seconds | samples/s |\n|---|---|---|\n"
    for (i = 1; i <= k; i++)
      printf "| %s | %.4f | %.0f M |\n", order[i], secs[order[i]], rate[order[i]] / 1e6
    printf "\nnormal: onnx-reinit / numpy = %.2fx (target >= 3x)\n",
      rate["onnx-reinit_normal_f32"] / rate["numpy_normal_f32"]
    printf "uniform: time / constant fill = %.2fx (target <= 3x)\n",
      secs["onnx-reinit_uniform_f32"] / secs["constant_fill_f32"]
    printf "uniform: onnx-reinit / numpy = %.2fx\n",
      rate["onnx-reinit_uniform_f32"] / rate["numpy_uniform_f32"]
  }'

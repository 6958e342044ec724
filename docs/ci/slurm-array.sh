#!/bin/bash
# A Slurm array checking (or re-initializing) a model zoo on 16 tasks:
#   sbatch docs/ci/slurm-array.sh /path/to/zoo /path/to/out
# --shard auto reads SLURM_ARRAY_TASK_ID among _MIN, _MAX, _STEP, _COUNT.
#SBATCH --job-name=onnx-reinit
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --output=onnx-reinit-%A_%a.log
set -euo pipefail
zoo=${1:?usage: slurm-array.sh ZOO OUT}
out=${2:?usage: slurm-array.sh ZOO OUT}
onnx-reinit batch "$zoo" -o "$out" -j "${SLURM_CPUS_PER_TASK:-1}" --shard auto \
  --report "$out/report-${SLURM_ARRAY_TASK_ID}.jsonl"

#!/bin/bash
# Reproduce a zoo model's published score over BDD100K val with a Slurm job array: one shard per task.
#
#   sbatch deploy/slurm/reproduce-array.sh                  # every shard (the --array below)
#   sbatch --array=3 deploy/slurm/reproduce-array.sh        # task 3 again, alone: it resumes its own shard
#   zoo merge "$ZOO_OUT" -o "$ZOO_OUT/merged" --data-root "$ZOO_DATA"   # when all tasks are done
#
# The number of array tasks is the number of shards. The first task to start records the split in
# $ZOO_OUT/shards.json (shard count, first task, step); every later task, resubmitted alone or not, maps
# through it, and a task outside that array is refused. Command-line options override the #SBATCH lines
# (`sbatch --array=0-15 --cpus-per-task=8 ...`); the arrays that map are --array=A-B and A-B:S.
#
# Settings (environment variables, passed to the job by sbatch's default --export=ALL):
#   ZOO        the zoo binary                         (default: zoo on PATH)
#   ZOO_MODEL  the zoo id                              (default: r50_1x)
#   ZOO_DATA   the BDD100K folder (images/10k/val ...) (default: /data/bdd100k)
#   ZOO_OUT    the output folder, shared by the tasks  (default: $HOME/zoo-reproduce-$ZOO_MODEL)
#   ZOO_ARGS   more `zoo reproduce` options, split on spaces (e.g. "--gt /data/pan_seg_val.json")
# Threads follow the CPUs Slurm gives the task (--cpus-per-task and its CPU binding); ZOO_THREADS
# or --threads N in ZOO_ARGS override. Fetch and convert the weights once before submitting
# (`zoo fetch r50_1x && zoo convert r50_1x`), so the tasks share the cache.
#
#SBATCH --job-name=zoo-reproduce
#SBATCH --array=0-7
#SBATCH --cpus-per-task=16
#SBATCH --mem=24G
#SBATCH --output=zoo-reproduce-%A_%a.out
set -euo pipefail

ZOO=${ZOO:-zoo}
ZOO_MODEL=${ZOO_MODEL:-r50_1x}
ZOO_DATA=${ZOO_DATA:-/data/bdd100k}
ZOO_OUT=${ZOO_OUT:-$HOME/zoo-reproduce-$ZOO_MODEL}
read -r -a extra <<< "${ZOO_ARGS:-}"

echo "task ${SLURM_ARRAY_TASK_ID:-?} of array ${SLURM_ARRAY_JOB_ID:-?} on $(hostname): $ZOO_MODEL -> $ZOO_OUT"
exec "$ZOO" reproduce "$ZOO_MODEL" --split val --data-root "$ZOO_DATA" -o "$ZOO_OUT" "${extra[@]}"

/* Shared by the fuzz targets: each defines LLVMFuzzerTestOneInput (and
 * may define LLVMFuzzerInitialize), built two ways: with libFuzzer
 * (ORX_FUZZ=ON, clang) to search, and with replay.c, a main() that runs
 * them on every file of the folders it is given, in the ordinary test
 * suite. A target never prints; it only crashes, leaks or trips a
 * sanitizer on a bug, and treats every error code as a normal outcome. */
#ifndef ORX_FUZZ_H
#define ORX_FUZZ_H

#include "onnx_reinit.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Plan with the default rules, check, apply with a seed, and, when
 * every step succeeded, check again: every later stage on one model. */
void fuzz_plan_apply_check(orx_model *m);

/* A folder of the process's own, made once (removed at exit). */
const char *fuzz_temp_dir(void);

#endif

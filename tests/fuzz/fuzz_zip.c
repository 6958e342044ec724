/* The zip reader of batch: archive bytes listed, every entry it accepts
 * read within the limits and opened as a model. Small limits, so that
 * the fuzzer reaches them. */
#include "fuzz.h"
#include "onnx_reinit.h"
#include "zipin.h"

#include <stdio.h>
#include <stdlib.h>

static char zip_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(zip_path, sizeof(zip_path), "%s/in.zip", fuzz_temp_dir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zip_limits limits = {UINT64_C(4) << 20, UINT64_C(16) << 20, 200.0};
	zip_entry *e = NULL;
	size_t n = 0;
	uint64_t total = 0;
	char err[256];
	FILE *f = fopen(zip_path, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	if (zip_list_models(&e, &n, zip_path, &limits, err, sizeof(err)) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = NULL;
		orx_model *m = NULL;
		if (e[i].error[0] ||
		    zip_read_entry(&buf, zip_path, e[i].index, e[i].size,
				   &limits, &total, err, sizeof(err)) != 0)
			continue;
		if (orx_model_open_buffer(&m, buf, e[i].size, NULL) == ORX_OK)
			orx_model_free(m);
		free(buf);
	}
	zip_entries_free(e, n);
	return 0;
}

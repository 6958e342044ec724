/* Loading and saving without changes gives back the same bytes. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Load path, save it to memory, compare with the file's bytes. Returns 0
 * when identical; else prints why. */
static int roundtrip(const char *path, void *ctx)
{
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	orx_model *m = NULL;
	int differ = 1;

	(void)ctx;
	cr_assert_eq(read_file(&in, &in_len, path), 0, "cannot read %s", path);
	if (orx_model_open_buffer(&m, in, in_len, NULL) != ORX_OK) {
		cr_log_error("%s: %s", path, orx_error_last());
		goto done;
	}
	cr_assert_eq(orx_model_save_buffer(&out, &out_len, m), ORX_OK);
	differ = out_len != in_len || memcmp(in, out, in_len) != 0;
	if (differ)
		cr_log_error("%s: saved %zu bytes differ from the %zu read",
			     path, out_len, in_len);
done:
	free(in);
	free(out);
	orx_model_free(m);
	return differ;
}

Test(roundtrip, every_libonnx_testdata_model_is_byte_identical,
     .timeout = 600)
{
	size_t total = 0;
	size_t failed = for_each_model(TESTDATA_DIR, roundtrip, NULL, &total);

	cr_expect_eq(total, 1072, "expected the 1,072 models of Debian's "
				  "libonnx-testdata, found %zu",
		     total);
	cr_expect_eq(failed, 0, "%zu of %zu models did not round-trip", failed,
		     total);
}

Test(roundtrip, every_sample_is_byte_identical)
{
	size_t total = 0;
	size_t failed =
		for_each_model(ORX_SOURCE_DIR "/samples", roundtrip, NULL, &total);

	cr_expect_geq(total, 8, "found only %zu samples", total);
	cr_expect_eq(failed, 0, "%zu of %zu samples did not round-trip", failed,
		     total);
}

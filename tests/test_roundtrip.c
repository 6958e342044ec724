/* Loading and saving without changes gives back the same bytes. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Save m to memory and compare with the file's bytes; 0 when identical,
 * else prints why. */
static int same_bytes(const orx_model *m, const uint8_t *in, size_t in_len,
		      const char *path, const char *how)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	int differ;

	cr_assert_eq(orx_model_save_buffer(&out, &out_len, m, NULL), ORX_OK);
	differ = out_len != in_len || memcmp(in, out, in_len) != 0;
	if (differ)
		cr_log_error("%s (%s): saved %zu bytes differ from the %zu "
			     "read",
			     path, how, out_len, in_len);
	free(out);
	return differ;
}

/* Load path from a buffer (all copied) and from the file (tensor bytes
 * left in the mapped file), save each to memory, compare with the file's
 * bytes. Returns 0 when both are identical. */
static int roundtrip(const char *path, void *ctx)
{
	uint8_t *in = NULL;
	size_t in_len = 0;
	orx_model *m = NULL, *f = NULL;
	int differ = 1;

	(void)ctx;
	cr_assert_eq(read_file(&in, &in_len, path), 0, "cannot read %s", path);
	/* bytes have no folder: a model with external data is refused */
	if ((orx_model_open_buffer(&m, in, in_len, NULL) != ORX_OK &&
	     !strstr(orx_error_last(), "external data needs the model's "
				       "folder")) ||
	    orx_model_open_file(&f, path, NULL) != ORX_OK) {
		cr_log_error("%s: %s", path, orx_error_last());
		goto done;
	}
	differ = (m && same_bytes(m, in, in_len, path, "buffer")) |
		 same_bytes(f, in, in_len, path, "file");
done:
	free(in);
	orx_model_free(m);
	orx_model_free(f);
	return differ;
}

Test(roundtrip, every_libonnx_testdata_model_is_byte_identical, .timeout = 600)
{
	size_t total = 0;
	size_t failed = for_each_model(TESTDATA_DIR, roundtrip, NULL, &total);

	cr_expect_eq(total, 1072,
		     "expected the 1,072 models of Debian's "
		     "libonnx-testdata, found %zu",
		     total);
	cr_expect_eq(failed, 0, "%zu of %zu models did not round-trip", failed,
		     total);
}

Test(roundtrip, every_sample_is_byte_identical)
{
	size_t total = 0;
	size_t failed = for_each_model(ORX_SOURCE_DIR "/samples", roundtrip,
				       NULL, &total);

	cr_expect_geq(total, 8, "found only %zu samples", total);
	cr_expect_eq(failed, 0, "%zu of %zu samples did not round-trip", failed,
		     total);
}

/* Model bytes as a file in a folder of hostile neighbours, opened from
 * its path (the mapped skeleton), planned, applied and saved in every
 * mode (keep, embed, external), each output reopened and checked.
 *
 * The folder holds w.bin (a copy of the input itself, so that the
 * fuzzer's offsets and lengths land in real data), sub/w.bin, a FIFO
 * (fifo), a symlink (link, to /etc/hostname), a file with two
 * hard links (hard, hard2) and a folder (dir): an external location may
 * name any of them. The seeds (tests/fuzz/seeds/file) point there. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "onnx_reinit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char model_path[256], data_path[256], sub_path[256], out_dir[256];

static void put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_temp_dir();
	char p[256];

	(void)argc;
	(void)argv;
	snprintf(model_path, sizeof(model_path), "%s/m/model.onnx", dir);
	snprintf(data_path, sizeof(data_path), "%s/m/w.bin", dir);
	snprintf(sub_path, sizeof(sub_path), "%s/m/sub/w.bin", dir);
	snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
	snprintf(p, sizeof(p), "%s/m", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/m/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/m/dir", dir);
	mkdir(p, 0700);
	mkdir(out_dir, 0700);
	snprintf(p, sizeof(p), "%s/m/fifo", dir);
	if (mkfifo(p, 0600) != 0)
		abort();
	snprintf(p, sizeof(p), "%s/m/link", dir);
	if (symlink("/etc/hostname", p) != 0)
		abort();
	snprintf(p, sizeof(p), "%s/m/hard", dir);
	put(p, "0123456789abcdef", 16);
	{
		char q[256];
		snprintf(q, sizeof(q), "%s/m/hard2", dir);
		if (link(p, q) != 0)
			abort();
	}
	return 0;
}

/* Save m in one mode to out/NAME and reopen what was written. */
static void save_and_reopen(orx_model *m, orx_data_mode mode, const char *name)
{
	orx_save_options opts = ORX_SAVE_OPTIONS_INIT;
	orx_model *again = NULL;
	char path[300];

	opts.threads = 1;
	opts.mode = mode;
	opts.external_file = "ext.bin";
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	if (orx_model_save(m, path, &opts) == ORX_OK &&
	    orx_model_open_file(&again, path, NULL) == ORX_OK)
		fuzz_plan_apply_check(again);
	orx_model_free(again);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0 && remove(path) != 0)
		abort();
	return 0;
}

/* Empty out/ for the next input. */
static void clear_out(void)
{
	if (nftw(out_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		orx_data_mode mode;
		const char *name;
	} saves[] = {{ORX_DATA_KEEP, "keep.onnx"},
		     {ORX_DATA_EMBED, "embed.onnx"},
		     {ORX_DATA_EXTERNAL, "external.onnx"}};
	orx_model *m = NULL;

	put(model_path, data, size);
	put(data_path, data, size);
	put(sub_path, data, size);
	for (size_t i = 0; i < sizeof(saves) / sizeof(*saves); i++) {
		if (orx_model_open_file(&m, model_path, NULL) != ORX_OK)
			break;
		fuzz_plan_apply_check(m);
		save_and_reopen(m, saves[i].mode, saves[i].name);
		orx_model_free(m);
		m = NULL;
	}
	clear_out();
	return 0;
}

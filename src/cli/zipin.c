/* Reading and writing zip archives with libzip. */
#define _DEFAULT_SOURCE
#include "zipin.h"

#include "onnx_reinit.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Why a name may not become a path under the output folder, or NULL. */
static const char *bad_name(const char *name)
{
	const char *p = name;

	if (!name[0])
		return "empty name";
	if (name[0] == '/')
		return "absolute path";
	if (strchr(name, '\\'))
		return "backslash in the name";
	if (isalpha((unsigned char)name[0]) && name[1] == ':')
		return "drive letter";
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0)
			return "empty path component";
		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return "'.' or '..' in the path";
		p += len + (slash ? 1 : 0);
	}
	return NULL;
}

static void check_entry(zip_entry *e, zip_t *za, const zip_stat_t *st,
			const zip_limits *lim)
{
	zip_uint8_t opsys;
	zip_uint32_t attr;
	const char *why = bad_name(e->name);

	if (why) {
		snprintf(e->error, sizeof(e->error), "refused entry name: %s",
			 why);
		return;
	}
	if (zip_file_get_external_attributes(za, e->index, 0, &opsys, &attr) ==
		    0 &&
	    opsys == ZIP_OPSYS_UNIX && ((attr >> 16) & S_IFMT) == S_IFLNK) {
		snprintf(e->error, sizeof(e->error),
			 "refused entry: a symlink");
		return;
	}
	if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) &&
	    st->encryption_method != ZIP_EM_NONE) {
		snprintf(e->error, sizeof(e->error),
			 "refused entry: encrypted");
		return;
	}
	if (st->size > lim->max_entry) {
		snprintf(e->error, sizeof(e->error),
			 "entry of %llu bytes is over the %llu-byte limit",
			 (unsigned long long)st->size,
			 (unsigned long long)lim->max_entry);
		return;
	}
	if (st->size > (1u << 20) &&
	    (double)st->size > lim->max_ratio * (double)(st->comp_size + 1))
		snprintf(
			e->error, sizeof(e->error),
			"compression ratio %.0f:1 is over %.0f:1 (a zip bomb?)",
			(double)st->size / (double)(st->comp_size + 1),
			lim->max_ratio);
}

/* Both entries of a duplicated name are refused: which one a reader
 * takes differs between tools. */
static void check_duplicates(zip_entry *e, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(e[i].name, e[k].name)) {
				snprintf(e[i].error, sizeof(e[i].error),
					 "refused entry: duplicate name");
				snprintf(e[k].error, sizeof(e[k].error),
					 "refused entry: duplicate name");
			}
}

int zip_list_models(zip_entry **out, size_t *n, const char *path,
		    const zip_limits *lim, char *err, size_t errlen)
{
	int zerr = 0;
	zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
	zip_int64_t count;
	zip_entry *e;

	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		snprintf(err, errlen, "cannot read the zip archive: %s",
			 zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	count = zip_get_num_entries(za, 0);
	e = calloc((size_t)count + 1, sizeof(*e));
	*n = 0;
	for (zip_int64_t i = 0; e && i < count; i++) {
		zip_stat_t st;
		if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 ||
		    !(st.valid & ZIP_STAT_NAME) || !ends_with(st.name, ".onnx"))
			continue;
		e[*n].name = strdup(st.name);
		e[*n].index = (uint64_t)i;
		e[*n].size = st.size;
		check_entry(&e[*n], za, &st, lim);
		(*n)++;
	}
	zip_discard(za);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	check_duplicates(e, *n);
	*out = e;
	return 0;
}

void zip_entries_free(zip_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].name);
	free(e);
}

/* Read exactly size bytes, then expect the end: libzip checks the CRC on
 * that last read, and would go on inflating past a false size. */
static int read_exact(zip_file_t *zf, uint8_t *buf, uint64_t size, char *err,
		      size_t errlen)
{
	uint64_t got = 0;
	uint8_t extra;
	zip_int64_t r;

	while (got < size) {
		r = zip_fread(zf, buf + got, size - got);
		if (r <= 0) {
			snprintf(err, errlen,
				 r < 0 ? "cannot read the entry: %s"
				       : "entry shorter than declared",
				 zip_file_strerror(zf));
			return -1;
		}
		got += (uint64_t)r;
	}
	r = zip_fread(zf, &extra, 1);
	if (r != 0) {
		snprintf(err, errlen,
			 r > 0 ? "entry inflates past its declared "
				 "size"
			       : "cannot read the entry: %s",
			 zip_file_strerror(zf));
		return -1;
	}
	return 0;
}

int zip_read_entry(uint8_t **out, const char *path, uint64_t index,
		   uint64_t size, const zip_limits *lim, uint64_t *total,
		   char *err, size_t errlen)
{
	int zerr = 0, rc = -1;
	zip_t *za;
	zip_file_t *zf = NULL;
	uint8_t *buf = NULL;

	if (__atomic_add_fetch(total, size, __ATOMIC_SEQ_CST) >
	    lim->max_total) {
		snprintf(err, errlen,
			 "the archives' entries pass the total "
			 "limit of %llu bytes",
			 (unsigned long long)lim->max_total);
		return -1;
	}
	if (!(za = zip_open(path, ZIP_RDONLY, &zerr))) {
		snprintf(err, errlen, "cannot reopen the zip archive");
		return -1;
	}
	if (!(zf = zip_fopen_index(za, index, 0))) {
		snprintf(err, errlen, "cannot open the entry: %s",
			 zip_strerror(za));
		goto done;
	}
	if (!(buf = malloc(size ? size : 1))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = read_exact(zf, buf, size, err, errlen);
done:
	if (zf)
		zip_fclose(zf);
	zip_discard(za);
	if (rc == 0)
		*out = buf;
	else
		free(buf);
	return rc;
}

/*** writing ***/

struct zip_writer {
	zip_source_t *src;
	zip_t *za;
};

zip_writer *zip_writer_new(char *err, size_t errlen)
{
	zip_error_t ze;
	zip_writer *w = calloc(1, sizeof(*w));

	zip_error_init(&ze);
	if (w && (w->src = zip_source_buffer_create(NULL, 0, 0, &ze)) &&
	    (w->za = zip_open_from_source(w->src, ZIP_TRUNCATE, &ze))) {
		zip_source_keep(w->src); /* read it back after zip_close */
		zip_error_fini(&ze);
		return w;
	}
	snprintf(err, errlen, "cannot start a zip archive: %s",
		 zip_error_strerror(&ze));
	zip_error_fini(&ze);
	if (w && w->src)
		zip_source_free(w->src);
	free(w);
	return NULL;
}

int zip_writer_add(zip_writer *w, const char *name, uint8_t *data, size_t len,
		   char *err, size_t errlen)
{
	zip_source_t *s = zip_source_buffer(w->za, data, len, 1);
	zip_int64_t idx;

	if (!s || (idx = zip_file_add(w->za, name, s, ZIP_FL_ENC_UTF_8)) < 0) {
		snprintf(err, errlen, "cannot add %s: %s", name,
			 zip_strerror(w->za));
		if (s)
			zip_source_free(s);
		else
			free(data);
		return -1;
	}
	/* a fixed time: the archive's bytes depend on the models alone */
	zip_file_set_mtime(w->za, (zip_uint64_t)idx, 315532800, 0);
	return 0;
}

int zip_writer_finish(zip_writer *w, const char *path, char *err, size_t errlen)
{
	zip_stat_t st;
	uint8_t *data = NULL;
	int rc = -1;

	if (zip_close(w->za) != 0) {
		snprintf(err, errlen, "cannot write the zip archive: %s",
			 zip_strerror(w->za));
		zip_discard(w->za);
		goto done;
	}
	if (zip_source_stat(w->src, &st) != 0 || zip_source_open(w->src) != 0 ||
	    !(data = malloc(st.size ? st.size : 1)) ||
	    zip_source_read(w->src, data, st.size) != (zip_int64_t)st.size) {
		snprintf(err, errlen, "cannot read back the zip archive");
		goto done;
	}
	zip_source_close(w->src);
	if (orx_write_file(path, data, st.size) != ORX_OK)
		snprintf(err, errlen, "%s", orx_error_last());
	else
		rc = 0;
done:
	free(data);
	zip_source_free(w->src);
	free(w);
	return rc;
}

/* Reading models out of zip archives, defensively (libzip
 * returns hostile names unchanged, reports a bad CRC only on the read past
 * the end, and inflates past the declared size). */
#ifndef ORX_ZIPIN_H
#define ORX_ZIPIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t max_entry; /* bytes of one entry, uncompressed */
	uint64_t max_total; /* bytes of all entries read, together */
	double max_ratio;   /* uncompressed / compressed, beyond 1 MiB */
} zip_limits;

#define ZIP_LIMITS_INIT                                                        \
	{                                                                      \
		UINT64_C(2) << 30, UINT64_C(64) << 30, 200.0                   \
	}

typedef struct {
	char *name;	 /* the entry's name as stored */
	uint64_t index;	 /* in the archive */
	uint64_t size;	 /* declared, uncompressed */
	char error[256]; /* set when the entry is refused */
} zip_entry;

/* The *.onnx entries of the archive at path, each checked: name (no
 * absolute path, '..', backslash, drive letter, empty component, or
 * duplicate), not a symlink, not encrypted, within the size and ratio
 * limits. Refused entries carry their reason. Returns 0, or -1 with a
 * message in err when the archive cannot be read at all. */
int zip_list_models(zip_entry **out, size_t *n, const char *path,
		    const zip_limits *limits, char *err, size_t errlen);
void zip_entries_free(zip_entry *entries, size_t n);

/* Read entry index of the archive into a new buffer of exactly size
 * bytes: more data than declared, a bad CRC or a short entry is an
 * error. total (shared between threads) counts bytes against the total
 * limit. */
int zip_read_entry(uint8_t **out, const char *path, uint64_t index,
		   uint64_t size, const zip_limits *limits, uint64_t *total,
		   char *err, size_t errlen);

/* A zip archive written in memory, then saved whole. */
typedef struct zip_writer zip_writer;
zip_writer *zip_writer_new(char *err, size_t errlen);
int zip_writer_add(zip_writer *w, const char *name, uint8_t *data, size_t len,
		   char *err, size_t errlen); /* takes data */
int zip_writer_finish(zip_writer *w, const char *path, char *err,
		      size_t errlen); /* frees w */

#endif

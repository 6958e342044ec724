/* Shared by the test files. */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H

#include "onnx_reinit.h"

#include <stddef.h>
#include <stdint.h>

#define TESTDATA_DIR "/usr/share/libonnx-testdata/data"

/* Read a whole file into a new buffer; 0 on success. */
int read_file(uint8_t **out, size_t *len, const char *path);

/* Write len bytes as the whole file at path; 0 on success. */
int write_file(const char *path, const void *data, size_t len);

/* xorshift64*: the tests' own reproducible random numbers, state *s. */
uint64_t test_random(uint64_t *s);

/* Damage flips random bytes of buf (each changed, never left the same). */
void flip_bytes(uint8_t *buf, size_t len, int flips, uint64_t *s);

/* Call fn on every *.onnx file under dir (recursively, sorted); returns
 * how many calls returned nonzero and sets *total to the number of files. */
size_t for_each_model(const char *dir, int (*fn)(const char *path, void *ctx),
		      void *ctx, size_t *total);

/* The result of running the onnx-reinit executable. */
typedef struct {
	int status; /* exit status, or 128 + signal */
	char *out;  /* standard output */
	size_t out_len;
	char *err; /* standard error */
} cli_result;

/* Run the CLI with the NULL-terminated arguments (after the program name),
 * with stdin_path as standard input (NULL: /dev/null). */
cli_result run_cli(const char *stdin_path, const char *const *args);
void cli_result_free(cli_result *r);

/* Run the CLI as run_cli does and expect a refusal: exit status 2, the
 * one line err on standard error, nothing on standard output. */
void expect_cli_error(const char *stdin_path, const char *const *args,
		      const char *err);

/* A new empty temporary folder; the caller removes it with remove_tree. */
char *make_temp_dir(void);
void remove_tree(const char *path);

/* Number of entries in a folder (not counting . and ..). */
size_t count_entries(const char *dir);

/* A protobuf message written field by field into p (realloc'd). */
typedef struct {
	uint8_t *p;
	size_t n, cap;
} wbuf;
void wbuf_put(wbuf *b, const void *data, size_t n);
void wbuf_varint(wbuf *b, uint64_t v);
void wbuf_len(wbuf *b, unsigned field, const void *data, size_t n);
void wbuf_int(wbuf *b, unsigned field, uint64_t v);

/* A minimal model built byte by byte: ir_version 8, opset 17, a graph
 * named "g" with one initializer "w" of the dtype and dims whose raw_data
 * is the raw_len bytes at raw (NULL: zeros). The caller frees *out. */
void build_model(uint8_t **out, size_t *len, int dtype, const int64_t *dims,
		 size_t ndim, const void *raw, size_t raw_len);
#endif

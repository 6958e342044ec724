#define _GNU_SOURCE
#include "helpers.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int read_file(uint8_t **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	uint8_t *buf;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(data, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

uint64_t test_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

void flip_bytes(uint8_t *buf, size_t len, int flips, uint64_t *s)
{
	for (int k = 0; k < flips; k++) {
		size_t at = test_random(s) % len;
		buf[at] ^= (uint8_t)(1 + test_random(s) % 255);
	}
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

size_t for_each_model(const char *dir, int (*fn)(const char *, void *),
		      void *ctx, size_t *total)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, by_name);
	size_t failed = 0;

	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (list[i]->d_name[0] != '.' && stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				failed += for_each_model(path, fn, ctx, total);
			} else if (ends_with(path, ".onnx")) {
				(*total)++;
				failed += fn(path, ctx) != 0;
			}
		}
		free(list[i]);
	}
	free(list);
	return failed;
}

static char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n - 1 == 0)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

cli_result run_cli(const char *stdin_path, const char *const *args)
{
	char out_tmpl[] = "/tmp/orx-out-XXXXXX",
	     err_tmpl[] = "/tmp/orx-err-XXXXXX";
	int out = mkstemp(out_tmpl), err = mkstemp(err_tmpl), status = 0;
	cli_result r = {0};
	const char *argv[64] = {ORX_CLI};
	size_t k = 1;
	pid_t pid;

	for (; args[k - 1] && k < 63; k++)
		argv[k] = args[k - 1];
	argv[k] = NULL;
	unlink(out_tmpl);
	unlink(err_tmpl);
	pid = fork();
	if (pid == 0) {
		int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(ORX_CLI, (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	r.status = WIFEXITED(status) ? WEXITSTATUS(status)
				     : 128 + WTERMSIG(status);
	lseek(out, 0, SEEK_SET);
	lseek(err, 0, SEEK_SET);
	r.out = slurp_fd(out, &r.out_len);
	r.err = slurp_fd(err, NULL);
	close(out);
	close(err);
	return r;
}

void cli_result_free(cli_result *r)
{
	free(r->out);
	free(r->err);
}

void expect_cli_error(const char *stdin_path, const char *const *args,
		      const char *err)
{
	cli_result r = run_cli(stdin_path, args);

	cr_expect_eq(r.status, 2, "%s: status %d", args[0] ? args[0] : "",
		     r.status);
	cr_expect_str_eq(r.err, err);
	cr_expect_eq(r.out_len, 0, "standard output: %s", r.out);
	cli_result_free(&r);
}

char *make_temp_dir(void)
{
	char tmpl[] = "/tmp/orx-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/*** a tiny protobuf writer for build_model ***/

void wbuf_put(wbuf *b, const void *data, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

void wbuf_varint(wbuf *b, uint64_t v)
{
	uint8_t c;

	do {
		c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			c |= 0x80;
		wbuf_put(b, &c, 1);
	} while (v);
}

void wbuf_len(wbuf *b, unsigned field, const void *data, size_t n)
{
	wbuf_varint(b, (uint64_t)field << 3 | 2);
	wbuf_varint(b, n);
	wbuf_put(b, data, n);
}

void wbuf_int(wbuf *b, unsigned field, uint64_t v)
{
	wbuf_varint(b, (uint64_t)field << 3);
	wbuf_varint(b, v);
}

void build_model(uint8_t **out, size_t *len, int dtype, const int64_t *dims,
		 size_t ndim, const void *raw, size_t raw_len)
{
	wbuf tensor = {0}, graph = {0}, opset = {0}, model = {0};
	void *zeros = raw ? NULL : calloc(1, raw_len + 1);

	for (size_t i = 0; i < ndim; i++)
		wbuf_int(&tensor, 1, (uint64_t)dims[i]);
	wbuf_int(&tensor, 2, (uint64_t)dtype);
	wbuf_len(&tensor, 8, "w", 1);
	wbuf_len(&tensor, 9, raw ? raw : zeros, raw_len);
	wbuf_len(&graph, 2, "g", 1);
	wbuf_len(&graph, 5, tensor.p, tensor.n);
	wbuf_int(&opset, 2, 17);
	wbuf_int(&model, 1, 8);
	wbuf_len(&model, 7, graph.p, graph.n);
	wbuf_len(&model, 8, opset.p, opset.n);
	*out = model.p;
	*len = model.n;
	free(tensor.p);
	free(graph.p);
	free(opset.p);
	free(zeros);
}

/* Files: read whole, mapped, and written whole or not at all (a
 * temporary file beside the target, renamed into place). */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*** @@READ ***/

static int read_fd(uint8_t **out, size_t *len, int fd, size_t hint)
{
	size_t cap = hint ? hint + 1 : 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (;;) {
		ssize_t r;
		if (n == cap) {
			uint8_t *nb = cap > SIZE_MAX / 2
					      ? NULL
					      : realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return orx_fail(ORX_ENOMEM, "out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return orx_fail(ORX_EIO, "cannot read: %s",
					strerror(e));
		}
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return ORX_OK;
}

int orx_map_file(uint8_t **out, size_t *len, int *fd_out, const char *path)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = ORX_OK;

	if (fd < 0)
		return orx_fail(ORX_EIO, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		rc = ORX_EUNSUPPORTED; /* not a regular file: read it instead */
		goto done;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	if (p == MAP_FAILED) {
		rc = ORX_EUNSUPPORTED;
		goto done;
	}
	*out = p;
	*len = (size_t)st.st_size;
	*fd_out = fd;
	return ORX_OK;
done:
	close(fd);
	return rc;
}

void orx_unmap_file(uint8_t *data, size_t len)
{
	munmap(data, len);
}

void orx_release_pages(const uint8_t *data, size_t len)
{
#if ORX_HAVE_MADV_DONTNEED
	madvise((void *)data, len, MADV_DONTNEED); /* a hint; fine if refused */
#else
	(void)data, (void)len;
#endif
}

int orx_read_all(uint8_t **out, size_t *len, const char *path)
{
	struct stat st;
	int fd, rc;
	bool is_stdin = strcmp(path, "-") == 0;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return orx_fail(ORX_EIO, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = orx_fail(ORX_EIO, "is a directory, not a model file");
		goto done;
	}
	rc = read_fd(out, len, fd,
		     S_ISREG(st.st_mode) ? (size_t)st.st_size : 0);
done:
	if (!is_stdin)
		close(fd);
	return rc;
}

/* Write all n bytes to fd; 0, or the errno of the failed write. */
int orx_write_all(int fd, const uint8_t *data, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		data += w, n -= (size_t)w;
	}
	return 0;
}

/*** @@WRITE: temporary file, then rename ***/

/* Temporary names of saves in progress, for orx_abort_cleanup(). */
#define MAX_PENDING 64
static char pending[MAX_PENDING][PATH_MAX];
static volatile sig_atomic_t pending_used[MAX_PENDING];
static pthread_t pending_owner[MAX_PENDING];

static int pending_add(const char *path)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		if (!pending_used[i] &&
		    __sync_bool_compare_and_swap(&pending_used[i], 0, 2)) {
			snprintf(pending[i], PATH_MAX, "%s", path);
			pending_owner[i] = pthread_self();
			pending_used[i] = 1;
			return i;
		}
	}
	return -1;
}

static void pending_remove(int slot)
{
	if (slot >= 0)
		pending_used[slot] = 0;
}

void orx_abort_cleanup(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_used[i] == 1)
			unlink(pending[i]);
}

void orx_abort_thread_saves(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_used[i] == 1 &&
		    pthread_equal(pending_owner[i], pthread_self())) {
			unlink(pending[i]);
			pending_used[i] = 0;
		}
}

char *orx_folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/")
			     : strndup(path, (size_t)(slash - path));
}

/* The folder of path, into dir (PATH_MAX bytes). */
static void folder_of(char *dir, const char *path)
{
	char *d = orx_folder_of(path);

	snprintf(dir, PATH_MAX, "%s", d ? d : ".");
	free(d);
}

/* Create the temporary file for path: an unnamed O_TMPFILE in its folder
 * where possible (nothing to clean up if the process dies), else a
 * hidden named file registered for orx_abort_cleanup(). */
static int open_temp(int *fd, char *tmpname, int *slot, const char *path)
{
	char dir[PATH_MAX];

	folder_of(dir, path);
	*slot = -1;
	tmpname[0] = '\0';
#if ORX_HAVE_O_TMPFILE
	*fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
	if (*fd >= 0)
		return ORX_OK;
#endif
	if (snprintf(tmpname, PATH_MAX, "%s/.onnx-reinit.XXXXXX", dir) >=
	    PATH_MAX)
		return orx_fail(ORX_EIO, "output path too long");
#if ORX_HAVE_MKOSTEMP
	*fd = mkostemp(tmpname, O_CLOEXEC);
#else
	if ((*fd = mkstemp(tmpname)) >= 0 &&
	    fcntl(*fd, F_SETFD, FD_CLOEXEC) != 0) {
		close(*fd);
		unlink(tmpname);
		*fd = -1;
	}
#endif
	if (*fd < 0)
		return orx_fail(ORX_EIO, "cannot create a file in '%s': %s",
				dir, strerror(errno));
	*slot = pending_add(tmpname);
	return ORX_OK;
}

/* Give the unnamed temporary file fd a name beside path, then rename it
 * over path. */
static int publish(int fd, const char *tmpname, const char *path)
{
	char proc[64], dir[PATH_MAX], name[PATH_MAX];
	int attempt;

	if (tmpname[0])
		return rename(tmpname, path) == 0
			       ? ORX_OK
			       : orx_fail(ORX_EIO,
					  "cannot rename into place: "
					  "%s",
					  strerror(errno));
#if !ORX_HAVE_O_TMPFILE
	(void)fd, (void)proc, (void)dir, (void)name, (void)attempt;
	return orx_fail(ORX_EIO, "the temporary output has no name");
#else
	folder_of(dir, path);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (attempt = 0; attempt < 100; attempt++) {
		if (snprintf(name, sizeof(name), "%s/.onnx-reinit.%ld.%d", dir,
			     (long)getpid(), attempt) >= (int)sizeof(name))
			return orx_fail(ORX_EIO, "output path too long");
		if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) ==
		    0)
			break;
		if (errno != EEXIST)
			return orx_fail(ORX_EIO, "cannot create the output: %s",
					strerror(errno));
	}
	if (rename(name, path) != 0) {
		int e = errno;
		unlink(name);
		return orx_fail(ORX_EIO, "cannot rename into place: %s",
				strerror(e));
	}
	return ORX_OK;
#endif
}

/* Write path whole or not at all: write(fd, ctx) fills a temporary file
 * in the target's folder, which is then renamed into place. */
int orx_save_with(const char *path, int (*write_fn)(int fd, const void *ctx),
		  const void *ctx)
{
	char tmpname[PATH_MAX];
	int fd = -1, slot = -1, rc;

	if (strcmp(path, "-") == 0)
		return write_fn(STDOUT_FILENO, ctx);
	if ((rc = open_temp(&fd, tmpname, &slot, path)) != ORX_OK)
		return rc;
	if ((rc = write_fn(fd, ctx)) != ORX_OK)
		goto done;
	rc = publish(fd, tmpname, path);
done:
	if (rc != ORX_OK && tmpname[0])
		unlink(tmpname);
	pending_remove(slot);
	close(fd);
	return rc;
}

typedef struct {
	const uint8_t *data;
	size_t len;
} bytes;

static int write_bytes(int fd, const void *ctx)
{
	const bytes *b = ctx;
	int err = orx_write_all(fd, b->data, b->len);

	return err ? orx_fail(ORX_EIO, "cannot write: %s", strerror(err))
		   : ORX_OK;
}

int orx_write_file(const char *path, const void *data, size_t len)
{
	bytes b = {data, len};

	return orx_save_with(path, write_bytes, &b);
}

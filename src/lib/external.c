/* Tensors in external data files: their paths checked, their files
 * opened and read safely (writing them is extsave.c's).
 *
 * A location must stay inside the model's folder, whatever the file
 * system holds: no absolute path, no '..', no symlink anywhere on the way
 * (every component is opened with O_NOFOLLOW, relative to the last), a
 * regular file with one link, and offset + length within it. These are
 * the attacks of CVE-2022-25882, CVE-2024-27318, CVE-2026-27489,
 * CVE-2026-34446 and CVE-2026-34445. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static const char *tname(const Onnx__TensorProto *t)
{
	return t->name ? t->name : "";
}

static const char *entry(const Onnx__TensorProto *t, const char *key)
{
	for (size_t i = 0; i < t->n_external_data; i++)
		if (t->external_data[i]->key &&
		    !strcmp(t->external_data[i]->key, key))
			return t->external_data[i]->value
				       ? t->external_data[i]->value
				       : "";
	return NULL;
}

static int parse_u64(uint64_t *out, const char *s)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end || errno ? -1 : 0;
}

int orx_external_ref(orx_ext_ref *out, const Onnx__TensorProto *t)
{
	const char *loc = entry(t, "location"), *off = entry(t, "offset"),
		   *len = entry(t, "length"), *p;
	uint64_t n, want;

	if (!loc || !loc[0])
		return orx_fail(ORX_EINVALID,
				"tensor '%s': external data "
				"without a location",
				tname(t));
	if (loc[0] == '/')
		return orx_fail(ORX_EINVALID,
				"tensor '%s': external data "
				"location '%s' is an absolute "
				"path",
				tname(t), loc);
	for (p = loc; *p;) {
		const char *slash = strchr(p, '/');
		size_t k = slash ? (size_t)(slash - p) : strlen(p);
		if (k == 0 || (k == 2 && p[0] == '.' && p[1] == '.'))
			return orx_fail(ORX_EINVALID,
					"tensor '%s': external "
					"data location '%s' "
					"leaves the model's "
					"folder",
					tname(t), loc);
		p += k + (slash ? 1 : 0);
	}
	out->location = loc;
	out->offset = 0;
	if (off && parse_u64(&out->offset, off))
		return orx_fail(ORX_EINVALID,
				"tensor '%s': bad external "
				"offset '%s'",
				tname(t), off);
	if (orx_tensor_proto_count(&n, t) != ORX_OK)
		return ORX_EINVALID;
	want = orx_dtype_nbytes(t->data_type, n);
	out->length = want;
	if (len && (parse_u64(&out->length, len) || out->length != want))
		return orx_fail(ORX_EINVALID,
				"tensor '%s': external length "
				"'%s' does not match its %llu "
				"bytes",
				tname(t), len, (unsigned long long)want);
	return ORX_OK;
}

/* Open rel under the folder dir with no symlink on the way. */
static int open_under(int *out, const char *dir, const char *rel,
		      const char *name)
{
	char buf[PATH_MAX], *comp, *next;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (dfd < 0)
		return orx_fail(ORX_EIO,
				"tensor '%s': cannot open the model's "
				"folder: %s",
				name, strerror(errno));
	snprintf(buf, sizeof(buf), "%s", rel);
	for (comp = buf; (next = strchr(comp, '/')); comp = next + 1) {
		*next = '\0';
		fd = openat(dfd, comp,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		if (fd < 0)
			return orx_fail(ORX_EINVALID,
					"tensor '%s': external "
					"data '%s': folder '%s' "
					"%s",
					name, rel, comp,
					errno == ELOOP || errno == ENOTDIR
						? "is a symlink or not a folder"
						: strerror(errno));
		dfd = fd;
	}
	/* non-blocking: opening a FIFO must not wait for a writer; the caller
	 * refuses anything but a regular file before reading */
	fd = openat(dfd, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd < 0 && errno == ELOOP)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': external data '%s' "
				"is a symlink",
				name, rel);
	if (fd < 0 && errno == ENXIO) /* a socket */
		return orx_fail(ORX_EINVALID,
				"tensor '%s': external data '%s' "
				"is not a regular file",
				name, rel);
	if (fd < 0)
		return orx_fail(ORX_EIO, "tensor '%s': external data '%s': %s",
				name, rel, strerror(errno));
	*out = fd;
	return ORX_OK;
}

/* Reads of a regular file block as usual. */
static int clear_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

int orx_external_open(int *fd, orx_ext_ref *ref, const orx_model *m,
		      const Onnx__TensorProto *t)
{
	struct stat st;
	int rc;

	if ((rc = orx_external_ref(ref, t)) != ORX_OK)
		return rc;
	if (!m->dir)
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s': external data "
				"needs the model's folder "
				"(open it from a file)",
				tname(t));
	if ((rc = open_under(fd, m->dir, ref->location, tname(t))) != ORX_OK)
		return rc;
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = orx_fail(ORX_EINVALID,
			      "tensor '%s': external data '%s' "
			      "is not a regular file",
			      tname(t), ref->location);
	else if (clear_nonblock(*fd) != 0)
		rc = orx_fail(ORX_EIO, "tensor '%s': external data '%s': %s",
			      tname(t), ref->location, strerror(errno));
	else if (st.st_nlink != 1)
		rc = orx_fail(ORX_EINVALID,
			      "tensor '%s': external data '%s' "
			      "has %lu hard links",
			      tname(t), ref->location,
			      (unsigned long)st.st_nlink);
	else if (ref->offset > (uint64_t)st.st_size ||
		 ref->length > (uint64_t)st.st_size - ref->offset)
		rc = orx_fail(ORX_EINVALID,
			      "tensor '%s': external data '%s': "
			      "offset %llu + length %llu is past "
			      "its %lld bytes",
			      tname(t), ref->location,
			      (unsigned long long)ref->offset,
			      (unsigned long long)ref->length,
			      (long long)st.st_size);
	if (rc != ORX_OK)
		close(*fd);
	return rc;
}

/*** @@CHECKSUM: SHA-1 of a whole data file, when the model gives one ***/

/* Hex SHA-1 of the file open at fd, into hex (41 bytes). */
static int sha1_file(char *hex, int fd)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE], *buf = malloc(1 << 20);
	unsigned int len = 0;
	uint64_t off = 0;
	ssize_t r = 0;
	int rc = ORX_OK;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL)) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	while ((r = pread(fd, buf, 1 << 20, (off_t)off)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		off += (uint64_t)r;
	}
	if (r < 0 || !EVP_DigestFinal_ex(ctx, md, &len)) {
		rc = orx_fail(ORX_EIO, "cannot read external data: %s",
			      strerror(errno));
		goto done;
	}
	for (unsigned i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
done:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* The checksum of the tensor's data file, verified once per file. */
static int verify_checksum(const orx_model *m, const Onnx__TensorProto *t,
			   const orx_ext_ref *ref, int fd)
{
	const char *want = entry(t, "checksum");
	orx_model_cache *mm = m->cache;
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
	int rc;

	if (!want)
		return ORX_OK;
	for (size_t i = 0; i < mm->n_verified; i++)
		if (!strcmp(mm->verified[i], ref->location))
			return ORX_OK;
	if ((rc = sha1_file(hex, fd)) != ORX_OK)
		return rc;
	if (strcasecmp(hex, want) != 0)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': external data '%s' "
				"does not match its checksum",
				tname(t), ref->location);
	char **v = realloc(mm->verified, (mm->n_verified + 1) * sizeof(*v));
	if (!v || !(v[mm->n_verified] = strdup(ref->location)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	mm->verified = v;
	mm->n_verified++;
	return ORX_OK;
}

int orx_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got,
				  (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return orx_fail(ORX_EIO,
					"cannot read external data: %s",
					r ? strerror(errno) : "file too short");
		got += (size_t)r;
	}
	return ORX_OK;
}

int orx_external_read(void *buf, const orx_model *m, const Onnx__TensorProto *t)
{
	orx_ext_ref ref;
	int fd, rc = orx_external_open_data(&fd, &ref, m, t);

	if (rc != ORX_OK)
		return rc;
	rc = orx_pread_all(fd, buf, ref.length, ref.offset);
	close(fd);
	return rc;
}

int orx_external_open_data(int *fd, orx_ext_ref *ref, const orx_model *m,
			   const Onnx__TensorProto *t)
{
	int rc = orx_external_open(fd, ref, m, t);

	if (rc == ORX_OK && (rc = verify_checksum(m, t, ref, *fd)) != ORX_OK)
		close(*fd);
	return rc;
}

int orx_external_validate(const orx_model *m)
{
	for (size_t i = 0; i < orx_value_count(m); i++) {
		const Onnx__TensorProto *t = orx_value_tensor(m, i);
		orx_ext_ref ref;
		int fd, rc;
		if (orx_tensor_proto_storage(t) != ORX_STORAGE_EXTERNAL)
			continue;
		if (!m->dir) /* from a buffer: the paths alone */
			rc = orx_external_ref(&ref, t);
		else if ((rc = orx_external_open(&fd, &ref, m, t)) == ORX_OK)
			close(fd);
		if (rc != ORX_OK)
			return rc;
	}
	return ORX_OK;
}

/* The memory of an unpacked model: one arena, huge pages where the kernel
 * gives them, freed all at once with the model. A 100 MB model then costs
 * tens of page faults to unpack instead of tens of thousands. Blocks of
 * LARGE bytes or more get a mapping of their own, so that the scratch
 * protobuf-c frees while unpacking a graph of many nodes (its scanned
 * member slabs, as large as the graph's fields) goes back at once. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct chunk {
	struct chunk *next;
	size_t size, used; /* bytes of the mapping, bytes handed out */
} chunk;

struct orx_arena {
	ProtobufCAllocator pc;
	chunk *head;
	chunk *large; /* one block each, most recent first */
};

/* Every field of protobuf-c's messages is at most 8-byte aligned. */
#define ALIGNMENT 8
#define MIN_CHUNK ((size_t)16 << 20)
#define LARGE ((size_t)256 << 10)

#if ORX_HAVE_MAP_NORESERVE
#define NORESERVE MAP_NORESERVE
#else
#define NORESERVE 0
#endif

static size_t chunk_head(void)
{
	return (sizeof(chunk) + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
}

/* A mapping for want bytes after the header, in huge pages (huge) or in
 * pages of 4 KiB. */
static chunk *chunk_new(size_t want, bool huge)
{
	size_t unit = huge ? (size_t)2 << 20 : (size_t)4 << 10;
	size_t size = (want + chunk_head() + unit - 1) & ~(unit - 1);
	chunk *c;

	c = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | NORESERVE, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
#if ORX_HAVE_MADV_HUGEPAGE
	if (huge)
		madvise(c, size, MADV_HUGEPAGE); /* a hint; fine if refused */
#endif
	c->next = NULL;
	c->size = size;
	c->used = chunk_head();
	return c;
}

void *orx_arena_alloc(orx_arena *a, size_t n)
{
	chunk *c = a->head;
	void *p;

	n = (n + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
	if (!c || c->size - c->used < n) {
		chunk *fresh = chunk_new(n > MIN_CHUNK ? n : MIN_CHUNK, true);
		if (!fresh)
			return NULL;
		fresh->next = c;
		a->head = c = fresh;
	}
	p = (char *)c + c->used;
	c->used += n;
	return p;
}

static void *pc_alloc(void *data, size_t n)
{
	orx_arena *a = data;
	chunk *c;

	if (n < LARGE)
		return orx_arena_alloc(a, n ? n : 1);
	if (!(c = chunk_new(n, false)))
		return NULL;
	c->used = c->size;
	c->next = a->large;
	a->large = c;
	return (char *)c + chunk_head();
}

/* A large block is unmapped; the rest goes with the arena. */
static void pc_free(void *data, void *p)
{
	orx_arena *a = data;

	for (chunk **at = &a->large; p && *at; at = &(*at)->next)
		if ((char *)*at + chunk_head() == p) {
			chunk *c = *at;
			*at = c->next;
			munmap(c, c->size);
			return;
		}
}

orx_arena *orx_arena_new(size_t hint)
{
	orx_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->pc.alloc = pc_alloc;
	a->pc.free = pc_free;
	a->pc.allocator_data = a;
	if (!(a->head = chunk_new(hint > MIN_CHUNK ? hint : MIN_CHUNK, true))) {
		free(a);
		return NULL;
	}
	return a;
}

ProtobufCAllocator *orx_arena_allocator(orx_arena *a)
{
	return &a->pc;
}

char *orx_arena_strdup(orx_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = orx_arena_alloc(a, n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void unmap_all(chunk *c)
{
	for (chunk *next; c; c = next) {
		next = c->next;
		munmap(c, c->size);
	}
}

char *orx_arena_printf(orx_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *d;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(d = orx_arena_alloc(a, (size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

void orx_arena_free(orx_arena *a)
{
	if (!a)
		return;
	unmap_all(a->head);
	unmap_all(a->large);
	free(a);
}

void *orx_room(void *array, size_t *cap, size_t used, size_t size)
{
	size_t n = *cap ? 2 * *cap : 16;
	void *q;

	if (used < *cap)
		return array;
	if (n > SIZE_MAX / size || !(q = realloc(array, n * size))) {
		orx_fail(ORX_ENOMEM, "out of memory");
		return NULL;
	}
	*cap = n;
	return q;
}

/* The memory of an unpacked model: one arena, huge pages where the kernel
 * gives them, freed all at once with the model. A 100 MB model then costs
 * tens of page faults to unpack instead of tens of thousands. */
#define _GNU_SOURCE
#include "internal.h"

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
};

#define ALIGNMENT 16
#define MIN_CHUNK ((size_t)16 << 20)

static chunk *chunk_new(size_t want)
{
	size_t size = want + sizeof(chunk);
	chunk *c;

	size = (size + ((size_t)2 << 20) - 1) & ~(((size_t)2 << 20) - 1);
	c = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	madvise(c, size, MADV_HUGEPAGE); /* a hint; fine if refused */
	c->next = NULL;
	c->size = size;
	c->used = (sizeof(chunk) + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
	return c;
}

void *orx_arena_alloc(orx_arena *a, size_t n)
{
	chunk *c = a->head;
	void *p;

	n = (n + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
	if (!c || c->size - c->used < n) {
		chunk *fresh = chunk_new(n > MIN_CHUNK ? n : MIN_CHUNK);
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
	return orx_arena_alloc(data, n ? n : 1);
}

static void pc_free(void *data, void *p)
{
	(void)data; /* everything goes with the arena */
	(void)p;
}

orx_arena *orx_arena_new(size_t hint)
{
	orx_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->pc.alloc = pc_alloc;
	a->pc.free = pc_free;
	a->pc.allocator_data = a;
	if (!(a->head = chunk_new(hint > MIN_CHUNK ? hint : MIN_CHUNK))) {
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

void orx_arena_free(orx_arena *a)
{
	if (!a)
		return;
	for (chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		munmap(c, c->size);
	}
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

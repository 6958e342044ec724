/* The arena behind a model's protobuf memory and a plan's entries. */
#define _GNU_SOURCE
#include "internal.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Whether the page at p is mapped (mincore fails with ENOMEM if not). */
static bool mapped(const void *p)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char v;
	void *at = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));

	return mincore(at, (size_t)page, &v) == 0;
}

Test(arena, small_blocks_are_8_byte_aligned_and_kept_until_the_end)
{
	orx_arena *a = orx_arena_new(0);
	ProtobufCAllocator *pc = orx_arena_allocator(a);
	char *p = pc->alloc(pc->allocator_data, 3);
	char *q = pc->alloc(pc->allocator_data, 5);

	cr_assert_eq((uintptr_t)p % 8, 0);
	cr_assert_eq((uintptr_t)q % 8, 0);
	cr_assert_eq(q - p, 8); /* one after the other */
	memcpy(p, "ab", 3);
	pc->free(pc->allocator_data, p); /* a no-op */
	cr_assert_str_eq(p, "ab");
	orx_arena_free(a);
}

Test(arena, a_large_block_freed_through_protobuf_is_unmapped_at_once)
{
	orx_arena *a = orx_arena_new(0);
	ProtobufCAllocator *pc = orx_arena_allocator(a);
	size_t big = (size_t)1 << 20;
	char *p = pc->alloc(pc->allocator_data, big);
	char *q = pc->alloc(pc->allocator_data, big);

	cr_assert_not_null(p);
	cr_assert_not_null(q);
	memset(p, 1, big);
	memset(q, 2, big);
	pc->free(pc->allocator_data, p);
	cr_assert(!mapped(p));
	cr_assert(mapped(q));
	cr_assert_eq(q[big - 1], 2);
	orx_arena_free(a); /* q goes with the arena */
	cr_assert(!mapped(q));
}

Test(arena, printf_formats_into_the_arena)
{
	orx_arena *a = orx_arena_new(0);

	cr_assert_str_eq(orx_arena_printf(a, "%s_%d", "MatMul", 42),
			 "MatMul_42");
	orx_arena_free(a);
}

// SPDX-License-Identifier: MIT
/*
 * Allocation counter of libcport_loop_test: the binary is linked with
 * -Wl,--wrap for malloc, calloc, realloc and free, so every allocation of
 * the library and of the test goes through here. alloc_live is the number
 * of blocks allocated and not freed yet; a test reads it before and after
 * some work to find leaks exactly (mallinfo2() cannot: it counts the
 * blocks malloc keeps in its per-thread caches as used).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);

long alloc_live;	/* atomic */

static void *counted(void *p)
{
	if (p)
		__atomic_add_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
	return p;
}

void *__wrap_malloc(size_t size)
{
	return counted(__real_malloc(size));
}

void *__wrap_calloc(size_t nmemb, size_t size)
{
	return counted(__real_calloc(nmemb, size));
}

void *__wrap_realloc(void *ptr, size_t size)
{
	void *p = __real_realloc(ptr, size);

	/* A move keeps the count; only NULL -> block adds one. */
	if (!ptr)
		return counted(p);
	if (!size && !p)
		__atomic_sub_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
	return p;
}

void __wrap_free(void *ptr)
{
	if (ptr)
		__atomic_sub_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
	__real_free(ptr);
}

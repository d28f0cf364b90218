// SPDX-License-Identifier: GPL-2.0
/*
 * cport: memory shared with user space.
 *
 * A region is an array of order-0 pages, mapped contiguously in the kernel
 * with vmap() and into user space with vm_insert_pages(). Order-0 pages avoid
 * high-order allocation failures for large rings; __GFP_ACCOUNT charges them
 * to the caller's memcg.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "region.h"

/**
 * cport_region_alloc() - allocate zeroed pages for a shared region
 * @r: the region, zeroed by the caller.
 * @size: bytes wanted, rounded up to pages.
 *
 * Context: process context, may sleep.
 * Return: 0, or -ENOMEM.
 */
int cport_region_alloc(struct cport_region *r, size_t size)
{
	unsigned int i, nr = DIV_ROUND_UP(size, PAGE_SIZE);

	r->pages = kvcalloc(nr, sizeof(*r->pages), GFP_KERNEL_ACCOUNT);
	if (!r->pages)
		return -ENOMEM;

	for (i = 0; i < nr; i++) {
		r->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!r->pages[i])
			goto err_free_pages;
	}
	r->nr_pages = nr;

	r->ptr = vmap(r->pages, nr, VM_MAP, PAGE_KERNEL);
	if (!r->ptr)
		goto err_free_pages;
	return 0;

err_free_pages:
	r->nr_pages = i;
	cport_region_free(r);
	return -ENOMEM;
}

/**
 * cport_region_free() - free a region (allocated or partially allocated)
 * @r: the region.
 *
 * User mappings hold a reference to each page, so pages still mapped stay
 * alive until unmapped; the port is released only after the last munmap()
 * anyway, since every mapping holds the file.
 *
 * Context: process context.
 */
void cport_region_free(struct cport_region *r)
{
	unsigned int i;

	if (r->ptr)
		vunmap(r->ptr);
	for (i = 0; i < r->nr_pages; i++)
		__free_page(r->pages[i]);
	kvfree(r->pages);
	memset(r, 0, sizeof(*r));
}

/**
 * cport_region_mmap() - map (the start of) a region into a VMA
 * @r: the region.
 * @vma: a shared VMA no larger than the region.
 *
 * Context: process context, mmap lock held for writing.
 * Return: 0, -EINVAL if @vma is larger than @r or not shared, or an error
 * of vm_insert_pages().
 */
int cport_region_mmap(struct cport_region *r, struct vm_area_struct *vma)
{
	unsigned long nr = vma_pages(vma);

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (nr > r->nr_pages)
		return -EINVAL;

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return vm_insert_pages(vma, vma->vm_start, r->pages, &nr);
}

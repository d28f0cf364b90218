/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_REGION_H
#define _CPORT_REGION_H

#include <linux/mm_types.h>
#include <linux/types.h>

/**
 * struct cport_region - pages shared with user space
 * @pages: the pages, each charged to the allocating task's memcg.
 * @nr_pages: number of @pages.
 * @ptr: kernel virtual address of the pages, contiguous (vmap).
 */
struct cport_region {
	struct page	**pages;
	unsigned int	nr_pages;
	void		*ptr;
};

int cport_region_alloc(struct cport_region *r, size_t size);
void cport_region_free(struct cport_region *r);
int cport_region_mmap(struct cport_region *r, struct vm_area_struct *vma);

#endif /* _CPORT_REGION_H */

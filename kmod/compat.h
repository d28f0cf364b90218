/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cport: differences between the kernel versions cport builds against.
 * Each entry names the version that introduced what it papers over. Kbuild
 * probes the kernel headers for the feature (CPORT_HAVE_*) rather than
 * comparing versions, so distribution backports are picked up too.
 */
#ifndef _CPORT_COMPAT_H
#define _CPORT_COMPAT_H

#include <linux/mm.h>

/* 6.3 made vm_flags read-only and added vm_flags_set(). */
#ifndef CPORT_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * Differences that need no entry, because cport avoids them:
 * - 6.12 removed no_llseek, which 6.0 had already made NULL: cport_fops
 *   leaves .llseek unset and stream_open() makes lseek() fail with -ESPIPE.
 */

#endif /* _CPORT_COMPAT_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_IOC_REGISTER, registered buffers and registered files.
 *
 * Registered buffers are pinned once (pin_user_pages_fast() with
 * FOLL_LONGTERM) and kept as bio_vecs, so that READ_FIXED and WRITE_FIXED
 * build an ITER_BVEC iterator over them instead of pinning or touching the
 * submitter's page tables per op; a worker needs no mm for them. The
 * pinned pages are charged to RLIMIT_MEMLOCK of the registering user
 * (user->locked_vm, as io_uring does; CAP_IPC_LOCK exempts) and counted in
 * the registering mm's pinned_vm.
 *
 * The buffer table is refcounted: the port holds one reference while it is
 * registered, and every op that uses one of its buffers takes one at
 * submission. Unregistering (or the port's release) drops the port's
 * reference at once; the pages are unpinned when the last op using them
 * frees its request. So an op in flight never sees its pages go, and
 * unregister never waits.
 *
 * Registered files are references to struct file; an op with
 * CPORT_SQE_F_FIXED_FILE takes its own reference at submission, so
 * unregistering while ops are in flight is safe as well.
 *
 * Both tables are read at submission and replaced under ->submit_lock;
 * they are built (copying, pinning, fget) outside it.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "link.h"
#include "kbuf.h"
#include "register.h"

/* ------------------------------------------------------------------ */
/* buffers */

/*
 * Charge @nr_pages to the user's RLIMIT_MEMLOCK budget.
 * Return: 0, or -ENOMEM beyond the limit.
 */
static int cport_account_mem(struct user_struct *user, unsigned long nr_pages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&user->locked_vm);

	do {
		if ((unsigned long)cur + nr_pages > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur,
					  cur + nr_pages));
	return 0;
}

static void cport_buf_table_free(struct cport_buf_table *t)
{
	unsigned int i, j;

	for (i = 0; i < t->nr; i++) {
		struct cport_buf *buf = &t->bufs[i];

		/*
		 * READ_FIXED may have written any page through a kernel
		 * mapping: dirty it, so the data is not dropped once the page
		 * may be reclaimed again (pin_user_pages.rst, case 1).
		 */
		for (j = 0; j < buf->nr_bvecs; j++)
			unpin_user_pages_dirty_lock(&buf->bvecs[j].bv_page, 1,
						    true);
		kvfree(buf->bvecs);
	}
	if (t->user) {
		atomic_long_sub(t->nr_pages, &t->user->locked_vm);
		free_uid(t->user);
	}
	if (t->mm) {
		atomic64_sub(t->nr_pages, &t->mm->pinned_vm);
		mmdrop(t->mm);
	}
	kvfree(t);
}

/**
 * cport_buf_table_put() - drop a reference to a buffer table
 * @t: the table.
 *
 * The last reference unpins the pages and uncharges them.
 *
 * Context: process context.
 */
void cport_buf_table_put(struct cport_buf_table *t)
{
	if (refcount_dec_and_test(&t->refs))
		cport_buf_table_free(t);
}

/* Pages spanned by [@base, @base + @len). */
static unsigned long cport_buf_pages(u64 base, u64 len)
{
	return (PAGE_ALIGN(base + len) - (base & PAGE_MASK)) >> PAGE_SHIFT;
}

/* Copy the iovec array of a 64-bit or a compat caller. */
static struct iovec *cport_iovecs_copy(u64 data, unsigned int nr)
{
	void __user *uptr = u64_to_user_ptr(data);
	struct iovec *iov;

	iov = kvmalloc_array(nr, sizeof(*iov), GFP_KERNEL);
	if (!iov)
		return ERR_PTR(-ENOMEM);
#ifdef CONFIG_COMPAT
	if (in_compat_syscall()) {
		struct compat_iovec __user *ciov = uptr;
		struct compat_iovec c;
		unsigned int i;

		for (i = 0; i < nr; i++) {
			if (copy_from_user(&c, &ciov[i], sizeof(c)))
				goto err_fault;
			iov[i].iov_base = compat_ptr(c.iov_base);
			iov[i].iov_len = c.iov_len;
		}
		return iov;
	}
#endif
	if (copy_from_user(iov, uptr, array_size(nr, sizeof(*iov))))
		goto err_fault;
	return iov;

err_fault:
	kvfree(iov);
	return ERR_PTR(-EFAULT);
}

/*
 * Check the buffers, and count their pages. Overlaps are looked for
 * pairwise: at most 1024 buffers, so at most half a million comparisons,
 * once per registration.
 */
static int cport_iovecs_check(const struct iovec *iov, unsigned int nr,
			      unsigned long *nr_pages)
{
	unsigned long pages = 0;
	unsigned int i, j;

	for (i = 0; i < nr; i++) {
		u64 base = (u64)(uintptr_t)iov[i].iov_base;
		u64 len = iov[i].iov_len, end;

		if (!len || len > CPORT_REGISTER_MAX_BUF_SIZE)
			return -EINVAL;
		if (!base || check_add_overflow(base, len, &end) ||
		    !access_ok(iov[i].iov_base, len))
			return -EFAULT;
		pages += cport_buf_pages(base, len);
	}
	for (i = 0; i < nr; i++) {
		u64 a = (u64)(uintptr_t)iov[i].iov_base;

		for (j = i + 1; j < nr; j++) {
			u64 b = (u64)(uintptr_t)iov[j].iov_base;

			if (a < b + iov[j].iov_len && b < a + iov[i].iov_len)
				return -EINVAL;
		}
		cond_resched();
	}
	*nr_pages = pages;
	return 0;
}

/* Pin one buffer and describe it with bio_vecs. */
static int cport_buf_pin(struct cport_buf *buf, u64 base, u64 len)
{
	unsigned long nr_pages = cport_buf_pages(base, len);
	size_t off = offset_in_page(base);
	u64 left = len;
	struct page **pages;
	struct bio_vec *bv;
	unsigned long i;
	long ret;

	pages = kvmalloc_array(nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	bv = kvmalloc_array(nr_pages, sizeof(*bv), GFP_KERNEL_ACCOUNT);
	if (!bv) {
		ret = -ENOMEM;
		goto out_free_pages;
	}
	ret = pin_user_pages_fast(base & PAGE_MASK, nr_pages,
				  FOLL_WRITE | FOLL_LONGTERM, pages);
	if (ret != nr_pages) {
		if (ret > 0)
			unpin_user_pages(pages, ret);
		ret = ret < 0 ? ret : -EFAULT;
		kvfree(bv);
		goto out_free_pages;
	}
	for (i = 0; i < nr_pages; i++) {
		size_t n = min_t(u64, PAGE_SIZE - off, left);

		bv[i].bv_page = pages[i];
		bv[i].bv_offset = off;
		bv[i].bv_len = n;
		left -= n;
		off = 0;
	}
	buf->ubase = base;
	buf->len = len;
	buf->bvecs = bv;
	buf->nr_bvecs = nr_pages;
	ret = 0;

out_free_pages:
	kvfree(pages);
	return ret;
}

/* Charge the pages of a new table; sets ->nr_pages, ->user and ->mm. */
static int cport_buf_table_charge(struct cport_buf_table *t,
				  unsigned long nr_pages)
{
	if (!capable(CAP_IPC_LOCK)) {
		struct user_struct *user = get_uid(current_user());
		int ret = cport_account_mem(user, nr_pages);

		if (ret) {
			free_uid(user);
			return ret;
		}
		t->user = user;
	}
	if (current->mm) {
		t->mm = current->mm;
		mmgrab(t->mm);
		atomic64_add(nr_pages, &t->mm->pinned_vm);
	}
	t->nr_pages = nr_pages;
	return 0;
}

static struct cport_buf_table *cport_buf_table_build(u64 data,
						     unsigned int nr)
{
	struct cport_buf_table *t;
	unsigned long nr_pages;
	struct iovec *iov;
	unsigned int i;
	int ret;

	iov = cport_iovecs_copy(data, nr);
	if (IS_ERR(iov))
		return ERR_CAST(iov);
	ret = cport_iovecs_check(iov, nr, &nr_pages);
	if (ret)
		goto out_free_iov;
	t = kvzalloc(struct_size(t, bufs, nr), GFP_KERNEL_ACCOUNT);
	if (!t) {
		ret = -ENOMEM;
		goto out_free_iov;
	}
	refcount_set(&t->refs, 1);
	ret = cport_buf_table_charge(t, nr_pages);
	if (ret)
		goto out_free_table;
	for (i = 0; i < nr; i++) {
		/* ->nr counts the buffers pinned, for the unwinding. */
		ret = cport_buf_pin(&t->bufs[i], (u64)(uintptr_t)iov[i].iov_base,
				    iov[i].iov_len);
		if (ret)
			goto out_free_table;
		t->nr = i + 1;
	}
	kvfree(iov);
	return t;

out_free_table:
	cport_buf_table_free(t);
out_free_iov:
	kvfree(iov);
	return ERR_PTR(ret);
}

static int cport_register_buffers(struct cport_port *port,
				  const struct cport_register *r)
{
	struct cport_buf_table *t;
	bool busy;

	if (!r->nr || r->nr > CPORT_REGISTER_MAX_BUFFERS)
		return -EINVAL;
	/* Fail early, before pinning anything; checked again below. */
	busy = READ_ONCE(port->bufs);
	if (busy)
		return -EBUSY;

	t = cport_buf_table_build(r->data, r->nr);
	if (IS_ERR(t))
		return PTR_ERR(t);

	mutex_lock(&port->submit_lock);
	busy = port->bufs;
	if (!busy) {
		WRITE_ONCE(port->bufs, t);
		WRITE_ONCE(port->nr_bufs, t->nr);
	}
	mutex_unlock(&port->submit_lock);
	if (busy) {
		cport_buf_table_put(t);
		return -EBUSY;
	}
	return 0;
}

static int cport_unregister_buffers(struct cport_port *port)
{
	struct cport_buf_table *t;

	mutex_lock(&port->submit_lock);
	t = port->bufs;
	WRITE_ONCE(port->bufs, NULL);
	WRITE_ONCE(port->nr_bufs, 0);
	mutex_unlock(&port->submit_lock);
	if (!t)
		return -ENXIO;
	/* Ops in flight keep their own references to the pages. */
	cport_buf_table_put(t);
	return 0;
}

/**
 * cport_buf_import() - the iterator of a READ_FIXED or WRITE_FIXED op
 * @port: the port.
 * @sqe: kernel copy of the SQE: @addr2 the buffer index, @addr and @len
 *       the range inside it.
 * @dir: READ or WRITE, as for iov_iter_bvec().
 * @iter: set to the range, over the pinned pages.
 * @tablep: set to the buffer table, referenced for the op.
 *
 * Context: process context, ->submit_lock held.
 * Return: 0, -ENXIO (no buffers registered), -EINVAL (no such buffer) or
 * -EFAULT (the range is not inside the buffer).
 */
int cport_buf_import(struct cport_port *port, const struct cport_sqe *sqe,
		     int dir, struct iov_iter *iter,
		     struct cport_buf_table **tablep)
{
	struct cport_buf_table *t = port->bufs;
	const struct cport_buf *buf;
	u64 off, skip;
	size_t seg;

	lockdep_assert_held(&port->submit_lock);
	if (!t)
		return -ENXIO;
	if (sqe->addr2 >= t->nr)
		return -EINVAL;
	buf = &t->bufs[array_index_nospec(sqe->addr2, t->nr)];
	off = sqe->addr - buf->ubase;
	if (sqe->addr < buf->ubase || off > buf->len ||
	    sqe->len > buf->len - off)
		return -EFAULT;

	/*
	 * Every bio_vec but the first starts a page: find the one @off is in
	 * without walking them (a buffer may have 2^18 of them).
	 */
	seg = 0;
	skip = off;
	if (skip >= buf->bvecs[0].bv_len) {
		skip -= buf->bvecs[0].bv_len;
		seg = 1 + (skip >> PAGE_SHIFT);
		skip &= ~PAGE_MASK;
	}
	iov_iter_bvec(iter, dir, buf->bvecs + seg, buf->nr_bvecs - seg,
		      buf->len - (off - skip));
	iov_iter_advance(iter, skip);
	iov_iter_truncate(iter, sqe->len);

	refcount_inc(&t->refs);
	*tablep = t;
	return 0;
}

/* ------------------------------------------------------------------ */
/* files */

static void cport_file_table_free(struct cport_file_table *t)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->files[i])
			fput(t->files[i]);
	kvfree(t);
}

/*
 * A file that may hold references to other files could hold one to this
 * port, a cycle nothing would break: another port, an AF_UNIX socket
 * (SCM_RIGHTS in its queue), an io_uring (its own registered files).
 */
static int cport_file_check(struct file *file)
{
	struct socket *sock;

	if (cport_port_from_file(file))
		return -EBADF;
	sock = sock_from_file(file);
	if (sock && sock->sk && sock->sk->sk_family == AF_UNIX)
		return -EOPNOTSUPP;
	/* io_uring's fops are not exported; its anon inode's name is ABI. */
	if (!strcmp(file->f_path.dentry->d_name.name, "[io_uring]"))
		return -EOPNOTSUPP;
	return 0;
}

static struct cport_file_table *cport_file_table_build(u64 data,
						       unsigned int nr)
{
	struct cport_file_table *t;
	unsigned int i;
	int *fds, ret;

	fds = memdup_user(u64_to_user_ptr(data), array_size(nr, sizeof(*fds)));
	if (IS_ERR(fds))
		return ERR_CAST(fds);
	t = kvzalloc(struct_size(t, files, nr), GFP_KERNEL_ACCOUNT);
	if (!t) {
		t = ERR_PTR(-ENOMEM);
		goto out_free_fds;
	}
	t->nr = nr;
	for (i = 0; i < nr; i++) {
		struct file *file;

		if (fds[i] == -1)
			continue;
		file = fds[i] < 0 ? NULL : fget(fds[i]);
		ret = file ? 0 : -EBADF;
		if (file) {
			t->files[i] = file;
			ret = cport_file_check(file);
		}
		if (ret) {
			cport_file_table_free(t);
			t = ERR_PTR(ret);
			break;
		}
	}
out_free_fds:
	kfree(fds);
	return t;
}

static int cport_register_files(struct cport_port *port,
				const struct cport_register *r)
{
	struct cport_file_table *t;
	bool busy;

	if (!r->nr || r->nr > CPORT_REGISTER_MAX_FILES)
		return -EINVAL;
	if (r->nr > rlimit(RLIMIT_NOFILE))
		return -EMFILE;
	busy = READ_ONCE(port->files);
	if (busy)
		return -EBUSY;

	t = cport_file_table_build(r->data, r->nr);
	if (IS_ERR(t))
		return PTR_ERR(t);

	mutex_lock(&port->submit_lock);
	busy = port->files;
	if (!busy) {
		WRITE_ONCE(port->files, t);
		WRITE_ONCE(port->nr_files, t->nr);
	}
	mutex_unlock(&port->submit_lock);
	if (busy) {
		cport_file_table_free(t);
		return -EBUSY;
	}
	return 0;
}

static int cport_unregister_files(struct cport_port *port)
{
	struct cport_file_table *t;

	mutex_lock(&port->submit_lock);
	t = port->files;
	WRITE_ONCE(port->files, NULL);
	WRITE_ONCE(port->nr_files, 0);
	mutex_unlock(&port->submit_lock);
	if (!t)
		return -ENXIO;
	/* Ops in flight hold their own file references. */
	cport_file_table_free(t);
	return 0;
}

/**
 * cport_file_get() - the file an I/O SQE names
 * @port: the port.
 * @sqe: kernel copy of the SQE; with CPORT_SQE_F_FIXED_FILE, @fd is an
 *       index into the registered file table, else a file descriptor.
 *
 * Context: process context, ->submit_lock held.
 * Return: a new reference to the file, or NULL (-EBADF): no such file
 * descriptor, no file table, an index beyond it or an empty slot.
 */
struct file *cport_file_get(struct cport_port *port,
			    const struct cport_sqe *sqe)
{
	struct cport_file_table *t = port->files;
	struct file *file;
	u32 idx = sqe->fd;

	/* A chain member: its descriptor was looked up at submission. */
	if (cport_issue_file(port, sqe, &file))
		return file;
	if (!(sqe->flags & CPORT_SQE_F_FIXED_FILE))
		return fget(sqe->fd);
	lockdep_assert_held(&port->submit_lock);
	if (!t || idx >= t->nr)
		return NULL;
	file = t->files[array_index_nospec(idx, t->nr)];
	if (file)
		get_file(file);
	return file;
}

/* ------------------------------------------------------------------ */

/**
 * cport_register_free() - drop the registrations of a released port
 * @port: the port; nothing submits any more.
 *
 * Ops still holding the buffer table (none after the release cancelled
 * them all) would unpin its pages when they end.
 *
 * Context: process context.
 */
void cport_register_free(struct cport_port *port)
{
	if (port->bufs)
		cport_buf_table_put(port->bufs);
	if (port->files)
		cport_file_table_free(port->files);
	port->bufs = NULL;
	port->files = NULL;
	cport_kbuf_free_all(port);
}

/**
 * cport_ioctl_register() - CPORT_IOC_REGISTER
 * @port: the port.
 * @argp: user pointer to struct cport_register.
 *
 * Context: process context, sleeps (pins pages, takes ->submit_lock).
 * Return: 0 or -errno: -EFAULT, -EINVAL, -EBADFD (not set up), -EBUSY
 * (already registered), -ENXIO (nothing to unregister), -ENOMEM
 * (RLIMIT_MEMLOCK, or out of memory), -EBADF, -EMFILE, -EOPNOTSUPP.
 */
long cport_ioctl_register(struct cport_port *port, void __user *argp)
{
	struct cport_register r;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.resv[0] || r.resv[1])
		return -EINVAL;
	if (!cport_port_ready(port))
		return -EBADFD;

	switch (r.op) {
	case CPORT_REGISTER_BUFFERS:
		return cport_register_buffers(port, &r);
	case CPORT_REGISTER_FILES:
		return cport_register_files(port, &r);
	case CPORT_UNREGISTER_BUFFERS:
		if (r.nr || r.data)
			return -EINVAL;
		return cport_unregister_buffers(port);
	case CPORT_UNREGISTER_FILES:
		if (r.nr || r.data)
			return -EINVAL;
		return cport_unregister_files(port);
	case CPORT_REGISTER_BUF_RING:
	case CPORT_UNREGISTER_BUF_RING: {
		long ret;

		if (r.nr || !r.data)
			return -EINVAL;
		mutex_lock(&port->submit_lock);
		ret = cport_kbuf_register(port, r.data,
					  r.op == CPORT_REGISTER_BUF_RING);
		mutex_unlock(&port->submit_lock);
		return ret;
	}
	default:
		return -EINVAL;
	}
}

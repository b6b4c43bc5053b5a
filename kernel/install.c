// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: hand kTLS a new key from the kernel, with no key in any process.
 *
 * The only way into kTLS's rekey is its own setsockopt(SOL_TLS, TLS_TX or
 * TLS_RX).  Given a kernel pointer (KERNEL_SOCKPTR), kTLS's copy of a
 * rekey's crypto_info into a stack union is a memcpy() that FORTIFY_SOURCE
 * reports as a field-spanning write (a WARN, Linux 6.14 to at least 7.3);
 * given a user pointer it is copy_from_user() and nothing is reported.  So
 * the crypto_info goes through one user page, but of an address space that
 * no process has: a kernel thread of this module uses a private mm.
 *
 * The kernel does not export mm_alloc(), so the mm is the one exec() makes
 * for a user-mode helper (qktls.install_helper, default /bin/sleep): the
 * helper is stopped before its first instruction (a SIGSTOP queued before
 * exec is taken on the way to user mode), its mm is referenced, and the
 * helper is killed.  From then on only the installer thread uses that mm,
 * through kthread_use_mm(); the page is mapped there once, holds a
 * crypto_info only for the length of one setsockopt() and is cleared after
 * it.  Documentation/qktls/key-update.rst explains the choice and the
 * upstream change that would make all of this unnecessary.
 */

#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/umh.h>
#include <net/sock.h>
#include <net/tls.h>

#include "install.h"

/* Before 6.14 kthread_create_worker() also started the thread. */
#ifndef kthread_run_worker
#define kthread_run_worker kthread_create_worker
#endif

static char *qktls_install_helper = "/bin/sleep";
module_param_named(install_helper, qktls_install_helper, charp, 0444);
MODULE_PARM_DESC(install_helper,
		 "Program whose fresh address space the key installer takes over (never runs)");

static struct {
	struct kthread_worker *worker;
	struct mm_struct *mm;
	void __user *page;
	int err;
} qktls_installer = { .err = -EOPNOTSUPP };

struct qktls_install_work {
	struct kthread_work work;
	struct completion done;
	struct sock *sk;
	const struct proto *prot;
	int optname;
	const void *ci;
	unsigned int len;
	void (*then)(void *arg);
	void *arg;
	int err;
};

/* In the helper, before exec: stop it before it runs anything. */
static int qktls_donor_init(struct subprocess_info *info, struct cred *new)
{
	struct task_struct **task = info->data;

	*task = get_task_struct(current);
	send_sig(SIGSTOP, current, 1);
	return 0;
}

/* The address space of a helper that never runs; the helper is killed. */
static struct mm_struct *qktls_private_mm(void)
{
	struct subprocess_info *info;
	struct task_struct *task = NULL;
	char **argv, **envp, *cmd;
	struct mm_struct *mm;
	int err;

	cmd = kasprintf(GFP_KERNEL, "%s 3600", qktls_install_helper);
	argv = cmd ? argv_split(GFP_KERNEL, cmd, NULL) : NULL;
	kfree(cmd);
	envp = argv_split(GFP_KERNEL, "PATH=/usr/bin:/bin", NULL);
	info = argv && envp ?
	       call_usermodehelper_setup(argv[0], argv, envp, GFP_KERNEL,
					 qktls_donor_init, NULL, &task) : NULL;
	if (!info) {
		argv_free(argv);
		argv_free(envp);
		return ERR_PTR(-ENOMEM);
	}
	/* Frees info once the helper ran (whatever the outcome). */
	err = call_usermodehelper_exec(info, UMH_WAIT_EXEC);
	argv_free(argv);
	argv_free(envp);
	if (err) {
		if (task)
			put_task_struct(task);
		return ERR_PTR(err < 0 ? err : -ENOEXEC);
	}
	mm = get_task_mm(task);
	send_sig(SIGKILL, task, 1);
	put_task_struct(task);
	return mm ?: ERR_PTR(-ESRCH);
}

static void qktls_install_fn(struct kthread_work *work)
{
	struct qktls_install_work *iw =
		container_of(work, struct qktls_install_work, work);
	void __user *page = qktls_installer.page;
	struct sock *sk = iw->sk;
	struct socket *real, stand_in = {};

	/*
	 * kTLS points the socket at its own struct proto and proto_ops when it
	 * takes a key (update_sk_prot()).  Every socket call goes through the
	 * proto_ops first, so those are kept out of that write: for the length
	 * of setsockopt(), sk->sk_socket is a stand-in, and the only thing
	 * kTLS changes is the stand-in's ops.  What softirq code may do to
	 * the socket's flags meanwhile (SOCK_NOSPACE) is carried back, and
	 * @then wakes writers, so none waits for a wakeup the stand-in took.
	 */
	write_lock_bh(&sk->sk_callback_lock);
	real = sk->sk_socket;
	if (!real) {	/* orphaned: no call can come any more */
		write_unlock_bh(&sk->sk_callback_lock);
		iw->err = -ENOTCONN;
		goto out;
	}
	stand_in.state = real->state;
	stand_in.type = real->type;
	stand_in.flags = real->flags;
	stand_in.ops = real->ops;
	stand_in.file = real->file;
	stand_in.sk = sk;
	WRITE_ONCE(sk->sk_socket, &stand_in);
	write_unlock_bh(&sk->sk_callback_lock);

	if (copy_to_user(page, iw->ci, iw->len))
		iw->err = -EFAULT;
	else
		iw->err = iw->prot->setsockopt(sk, SOL_TLS, iw->optname,
					       USER_SOCKPTR(page), iw->len);
	if (clear_user(page, iw->len) && !iw->err)
		iw->err = -EFAULT;

	write_lock_bh(&sk->sk_callback_lock);
	WRITE_ONCE(sk->sk_socket, real);
	if (test_bit(SOCK_NOSPACE, &stand_in.flags))
		set_bit(SOCK_NOSPACE, &real->flags);
	write_unlock_bh(&sk->sk_callback_lock);
	if (iw->then)
		iw->then(iw->arg);
out:
	complete(&iw->done);
}

/* Runs on the installer thread: adopt the mm, map the page. */
static void qktls_install_setup_fn(struct kthread_work *work)
{
	struct qktls_install_work *iw =
		container_of(work, struct qktls_install_work, work);
	unsigned long addr;

	kthread_use_mm(qktls_installer.mm);
	addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE,
		       0);
	if (IS_ERR_VALUE(addr))	/* no memlock allowance: unlocked then */
		addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, 0);
	if (IS_ERR_VALUE(addr)) {
		iw->err = (int)addr;
		kthread_unuse_mm(qktls_installer.mm);
	} else {
		qktls_installer.page = (void __user *)addr;
		iw->err = 0;
	}
	complete(&iw->done);
}

static void qktls_install_teardown_fn(struct kthread_work *work)
{
	struct qktls_install_work *iw =
		container_of(work, struct qktls_install_work, work);

	vm_munmap((unsigned long)qktls_installer.page, PAGE_SIZE);
	kthread_unuse_mm(qktls_installer.mm);
	complete(&iw->done);
}

static int qktls_install_run(void (*fn)(struct kthread_work *work),
			     struct qktls_install_work *iw)
{
	kthread_init_work(&iw->work, fn);
	init_completion(&iw->done);
	kthread_queue_work(qktls_installer.worker, &iw->work);
	/* Uninterruptible: the work item lives on this stack. */
	wait_for_completion(&iw->done);
	return iw->err;
}

/**
 * qktls_install() - install a crypto_info as kTLS's key, a rekey
 * @sk: the socket
 * @prot: kTLS's proto of the socket (not the module's hooks)
 * @optname: TLS_TX or TLS_RX
 * @ci: the crypto_info
 * @len: its size
 * @then: called on the installer thread right after kTLS's setsockopt(),
 *	whatever its outcome (the module hooks the socket's struct proto
 *	again and wakes its writers), or NULL
 * @arg: its argument
 *
 * May sleep; callable from any context that may, with or without a
 * process.  Nothing is mapped in the caller's address space.  The socket's
 * proto_ops stay what they were (the module's); its struct proto is
 * kTLS's until @then.
 *
 * Return: 0, -EOPNOTSUPP if the installer could not start at load (the
 * reason was logged), or kTLS's error.
 */
int qktls_install(struct sock *sk, const struct proto *prot, int optname,
		  const void *ci, unsigned int len, void (*then)(void *arg),
		  void *arg)
{
	struct qktls_install_work iw = {
		.sk = sk, .prot = prot, .optname = optname, .ci = ci,
		.len = len, .then = then, .arg = arg,
	};

	if (qktls_installer.err)
		return qktls_installer.err;
	if (len > PAGE_SIZE)
		return -EINVAL;
	return qktls_install_run(qktls_install_fn, &iw);
}

/**
 * qktls_install_init() - start the installer thread and its private mm
 *
 * A failure is logged and leaves rekeys failing with -EOPNOTSUPP; the rest
 * of the module works.
 */
void qktls_install_init(void)
{
	struct qktls_install_work iw = {};
	struct mm_struct *mm;
	int err;

	mm = qktls_private_mm();
	if (IS_ERR(mm)) {
		pr_warn("qktls: no address space for the key installer (helper %s: %ld); kTLS rekeys are off\n",
			qktls_install_helper, PTR_ERR(mm));
		return;
	}
	qktls_installer.mm = mm;
	qktls_installer.worker = kthread_run_worker(0, "qktls_install");
	if (IS_ERR(qktls_installer.worker)) {
		err = PTR_ERR(qktls_installer.worker);
		qktls_installer.worker = NULL;
		goto fail;
	}
	err = qktls_install_run(qktls_install_setup_fn, &iw);
	if (err) {
		kthread_destroy_worker(qktls_installer.worker);
		qktls_installer.worker = NULL;
		goto fail;
	}
	qktls_installer.err = 0;
	return;
fail:
	pr_warn("qktls: the key installer did not start (%d); kTLS rekeys are off\n",
		err);
	mmput(mm);
	qktls_installer.mm = NULL;
}

/**
 * qktls_install_exit() - stop the installer, unmap its page, drop its mm
 */
void qktls_install_exit(void)
{
	struct qktls_install_work iw = {};

	if (qktls_installer.worker) {
		qktls_install_run(qktls_install_teardown_fn, &iw);
		kthread_destroy_worker(qktls_installer.worker);
		qktls_installer.worker = NULL;
	}
	if (qktls_installer.mm)
		mmput(qktls_installer.mm);
	qktls_installer.mm = NULL;
	qktls_installer.err = -EOPNOTSUPP;
}

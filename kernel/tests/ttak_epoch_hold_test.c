// SPDX-License-Identifier: GPL-2.0
/*
 * A long epoch read section, for testing what ttak.ko reports while a
 * reader holds reclamation back (debugfs flush_status).
 *
 * Loading the module starts a kernel thread that enters an epoch section
 * and stays inside for hold_ms milliseconds. A section must not sleep, so
 * the thread spins with preemption disabled for that long: keep hold_ms
 * short (at most 5 s), and use it on machines with more than one CPU.
 * Insmod returns once the thread is inside; rmmod waits for it to leave.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/err.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/smp.h>

#include <ttak/mem/epoch.h>

#define HOLD_MAX_MS	5000

static unsigned int hold_ms = 1000;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "time spent inside the epoch section, 1..5000 ms (default 1000)");

static struct task_struct *hold_task;
static DECLARE_COMPLETION(hold_entered);

static int hold_fn(void *unused)
{
	u64 deadline = ktime_get_ns() + (u64)hold_ms * NSEC_PER_MSEC;
	int cpu;

	ttak_epoch_enter();
	cpu = smp_processor_id();
	complete(&hold_entered);
	while (ktime_get_ns() < deadline && !kthread_should_stop())
		cpu_relax();
	ttak_epoch_exit();
	pr_info("cpu %d left its epoch section after up to %u ms\n", cpu,
		hold_ms);

	/* stay until rmmod asks, so kthread_stop() always has a task */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int __init hold_init(void)
{
	if (!hold_ms || hold_ms > HOLD_MAX_MS) {
		pr_err("hold_ms=%u out of range (1..%u)\n", hold_ms,
		       HOLD_MAX_MS);
		return -EINVAL;
	}
	if (num_online_cpus() < 2) {
		pr_err("needs two online CPUs: the section spins on one\n");
		return -ENODEV;
	}
	hold_task = kthread_run(hold_fn, NULL, "ttak_epoch_hold");
	if (IS_ERR(hold_task))
		return PTR_ERR(hold_task);
	wait_for_completion(&hold_entered);
	pr_info("a reader is inside an epoch section for %u ms\n", hold_ms);
	return 0;
}

static void __exit hold_exit(void)
{
	kthread_stop(hold_task);
}

module_init(hold_init);
module_exit(hold_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak test: hold an epoch read section open for a while");

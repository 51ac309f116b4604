/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What the core's EBR (epoch.c) needs from a reader flavour.
 *
 * epoch.c is written once for both homes: the global epoch, the retire
 * batches, grace-period detection and reclamation. The read side is not:
 * where the reader records live, how a reader enters and leaves a
 * section, and who pays for the ordering between a reader's publication
 * and the reclaimer's scan. Each home has one such read side, a flavour
 * (liburcu's word for the same choice), in one file named after it:
 *
 *   kernel/epoch_percpu.c        ttak.ko: one record per CPU and context
 *                                level, preemption disabled inside a
 *                                section, plain stores on enter, RCU's
 *                                grace periods as the common proof and an
 *                                IPI to every CPU for the scan.
 *   user/lib/epoch_membarrier.c  libttak: one record per thread in a
 *                                registry, plain stores on enter,
 *                                membarrier() on the reclaimer's side.
 *
 * A flavour defines the public read side of <ttak/mem/epoch.h>
 * (ttak_epoch_register/deregister_thread, and ttak_epoch_enter/exit - in
 * user space those are inline in the header, and the flavour gives them
 * ttak_epoch_self and ttak_epoch_enter_slow()) and the functions below,
 * which are all epoch.c calls of it. In the other direction a flavour
 * uses ttak_epoch_global (below) and, from ttak_core.h,
 * ttak_epoch_seal_own() when a retirer goes away; the kernel's work item
 * calls ttak_epoch_background_pass().
 *
 * The contract every flavour keeps; epoch.c's safety argument rests on it:
 *
 *  1. A reader's state is 0 outside a section and (E << 1) | 1 inside
 *     one, E being ttak_epoch_global as the reader read it on entering.
 *  2. Entering, the store of that state is ordered before the section's
 *     first access to a shared object, either by a full barrier of the
 *     reader's own or by ttak_flavour_heavy_barrier() (the flavour says
 *     which, next to the code).
 *  3. Leaving, 0 is stored with release semantics: the section's accesses
 *     complete before a scan can see the reader outside.
 *  4. Only the reader itself writes its state and nesting count.
 */
#ifndef TTAK_EPOCH_FLAVOUR_H
#define TTAK_EPOCH_FLAVOUR_H

#include "ttak_platform.h"
#include <ttak/types.h>

struct ttak_retire_chunk;

/* The background pass the kernel's work item runs (epoch.c). */
void ttak_epoch_background_pass(void);

/*
 * The global epoch, defined in epoch.c; a reader reads it on entering.
 * It only grows and does not wrap (64 bits).
 */
extern ttak_atomic_u64_t ttak_epoch_global;

/**
 * struct ttak_epoch_seen - the reclaimer's notes on one reader record.
 * @state: the record's state at the last scan that saw it inside.
 * @since_ns: when the scans first saw that state (flush-status reports).
 *
 * Each flavour embeds one in its private reader record, zeroed before
 * the record is first scanned, and never touches it again: epoch.c
 * writes it, under its domain lock, from the scan callback.
 */
struct ttak_epoch_seen {
	u64 state;
	u64 since_ns;
};

/*
 * Called by the scan once per reader record: @state is the record's
 * published state, @seen the reclaimer's notes on it, @id the thread id
 * (user space) or CPU number (kernel) that reports name the reader by.
 */
typedef void (*ttak_reader_fn)(ttak_atomic_u64_t *state,
			       struct ttak_epoch_seen *seen, int id,
			       void *ctx);

/*
 * Call @fn for every reader record that may be inside a section. The
 * caller holds epoch.c's domain lock (with interrupts off in the
 * kernel); the flavour may take its own registry lock inside it (never
 * the other way round).
 */
void ttak_flavour_scan_readers(ttak_reader_fn fn, void *ctx);

/*
 * Force ordering on every reader (the reclaimer's half of rule 2): when
 * it returns, each reader either has its published state visible to the
 * caller's next reads of the records, or sees every store the caller
 * made before the call (the unlinks of what it retired). epoch.c calls
 * it before every scan whose result frees memory or reports readers.
 * May sleep: membarrier() in user space, an IPI to every online CPU in
 * the kernel. Called only where ttak_flavour_may_reclaim().
 */
void ttak_flavour_heavy_barrier(void);

/*
 * Wait a while before the next scan of a reclaimer that waits for the
 * readers inside a section to leave (ttak_epoch_synchronize()). User
 * space: a short sleep. Kernel: an RCU grace period, after which every
 * section open at the call has ended - one wait, instead of an IPI to
 * every CPU per spin while a long section holds on.
 */
void ttak_flavour_wait_for_readers(void);

/*
 * Does a reclamation pass scan the readers (after the heavy barrier) on
 * its common path? User space: yes, the scan is its only proof, so a
 * rotation frees what no reader holds before it returns. Kernel: no,
 * the heavy barrier interrupts every CPU; a pass frees what RCU's grace
 * periods cover and scans only when the queue passed its bound, and
 * ttak_epoch_synchronize() scans as it waits.
 */
bool ttak_flavour_scan_on_every_pass(void);

/* Is the calling thread (user) or context (kernel) inside a section? */
bool ttak_flavour_in_section(void);

/*
 * May the caller retire here at all? (The kernel refuses NMI context: a
 * batch slot is guarded by a lock that an NMI could find held.)
 */
bool ttak_flavour_may_retire(void);

/*
 * May the caller run a reclamation pass here: take locks that sleep,
 * call ttak_flavour_heavy_barrier(), run cleanups? User space: always.
 * Kernel: only preemptible process context (so never inside a section).
 */
bool ttak_flavour_may_reclaim(void);

/*
 * The open retire batches. ttak_flavour_chunk_lock() locks the caller's
 * slot and returns what _unlock() needs to restore (the kernel's saved
 * interrupt flags); ttak_flavour_open_chunk() is the caller's slot (NULL
 * contents: none open), valid until the unlock. A slot private to one
 * thread may make the lock a no-op.
 */
unsigned long ttak_flavour_chunk_lock(void);
struct ttak_retire_chunk **ttak_flavour_open_chunk(void);
void ttak_flavour_chunk_unlock(unsigned long flags);

/*
 * Call @fn on each open batch slot a reclaimer may seal, each under its
 * lock: the caller's own, or with @every also those of the other CPUs
 * (kernel; in user space other threads' batches are theirs to seal).
 */
typedef void (*ttak_open_fn)(struct ttak_retire_chunk **slot, void *ctx);
void ttak_flavour_visit_open(bool every, ttak_open_fn fn, void *ctx);

/*
 * A second proof of a grace period, cheaper than the epoch scan, where
 * the home has one (kernel: RCU's polled grace periods, since a section
 * runs with preemption disabled). ttak_flavour_gp_snapshot() is taken
 * when a batch is queued, after its unlinks; ttak_flavour_gp_passed()
 * tells whether every section that began before that has ended. User
 * space has none: snapshot 0, passed never.
 */
unsigned long ttak_flavour_gp_snapshot(void);
bool ttak_flavour_gp_passed(unsigned long snapshot);

/*
 * Ask for a reclamation pass later, off the caller's context (kernel: a
 * work item that runs once a grace period has passed and calls
 * ttak_epoch_background_pass()). Any context the retire allows. User
 * space has no background: a no-op.
 */
void ttak_flavour_kick_reclaim(void);
/* Allow kicks (core init); no more kicks, and wait for a pass (exit). */
void ttak_flavour_start_background(void);
void ttak_flavour_stop_background(void);

#endif /* TTAK_EPOCH_FLAVOUR_H */

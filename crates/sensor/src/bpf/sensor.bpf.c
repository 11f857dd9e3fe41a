// SPDX-License-Identifier: GPL-2.0
// kubesecops syscall sensor: tracepoint programs feeding one BPF ring buffer.
//
// syscalls/sys_exit_NAME emits a watched syscall with its result, its arguments (from the
// registers saved at entry) and the strings they point to. The sched
// tracepoints report program starts (with argv and the executable's name), forks and exits for
// the user-space process table. A failed ring-buffer reservation is counted per CPU.
//
// No vmlinux.h: the tracepoint contexts are read at the offsets of their format files, and the
// few kernel structures read (task, mm, file) are declared here with only the fields used,
// relocated by libbpf against the kernel's BTF (CO-RE).

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* The syscall numbers and the saved-register layout below are x86_64's. */
#ifndef __TARGET_ARCH_x86
#error "the kubesecops sensor supports x86_64 only (syscall numbers and pt_regs layout)"
#endif

#define STR_MAX 256
#define ARGV_MAX 512

#define KIND_SYSCALL 1
#define KIND_EXEC 2
#define KIND_FORK 3
#define KIND_EXIT 4

struct qstr {
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct dentry {
	struct qstr d_name;
} __attribute__((preserve_access_index));

struct path {
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
} __attribute__((preserve_access_index));

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
} __attribute__((preserve_access_index));

struct task_struct {
	int tgid;
	struct task_struct *real_parent;
	struct mm_struct *mm;
} __attribute__((preserve_access_index));

/* x86_64 user registers as saved at syscall entry: the arguments, in the ABI's order
 * di, si, dx, r10, r8, r9. Syscalls do not change them, so they are read at exit. */
struct pt_regs {
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
} __attribute__((preserve_access_index));

struct event {
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__s64 id;
	__s64 ret;
	__u64 ts;
	__u64 args[6];
	char comm[16];
	__u64 cgroup; /* the cgroup v2 id: the container, even after the process is gone */
	__u32 len0;
	__u32 len1;
	__u32 argv_len;
	__u32 pad;
	char s0[STR_MAX];
	char s1[STR_MAX];
	char argv[ARGV_MAX];
};


struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* Per-CPU counters: records the ring buffer had no room for, and opens the path filter kept
 * in the kernel. */
#define COUNT_DROPPED 0
#define COUNT_FILTERED 1
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

#define SUFFIX_SLOTS 16
#define SUFFIX_MAX 32
#define SUFFIX_WORDS (SUFFIX_MAX / 8)

/* Set by user space before the programs see events (`config_bytes` in bpf.rs). */
struct config {
	__u32 self_pid;      /* the sensor's own pid: the sensor does not watch itself */
	__u32 filter_opens;  /* 1: only opens the rules can want leave the kernel */
	__u32 suffix_count;
	__u32 suffix_len[SUFFIX_SLOTS];
	__u32 pad;
	/* Each suffix right-aligned in SUFFIX_MAX bytes, read as words, and the bytes of those
	 * words it covers: a path ends with it when its last SUFFIX_MAX bytes, masked, are
	 * equal, so a mismatch costs one comparison instead of a byte loop. */
	__u64 suffix_word[SUFFIX_SLOTS][SUFFIX_WORDS];
	__u64 suffix_mask[SUFFIX_SLOTS][SUFFIX_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config SEC(".maps");

/* The path prefixes the rules can want of opens (longest-prefix match on bytes). */
struct path_key {
	__u32 prefixlen; /* in bits */
	char data[STR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct path_key);
	__type(value, __u8);
} open_prefixes SEC(".maps");

/* An open's path is read here first, and copied into a record only when it passes.
 * `prefixlen` and `data` are the LPM key. The word reads of the filter go up to SUFFIX_MAX
 * bytes before the end of the path (`lead` keeps them inside the buffer for short paths)
 * and up to ten bytes past the position of its last byte (`data`'s tail). */
struct path_buf {
	char lead[SUFFIX_MAX];
	__u32 prefixlen;
	char data[STR_MAX + 16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} scratch SEC(".maps");

/* The reader is woken once per batch: by the record that brings the waiting data past
 * WAKEUP_BYTES, and by nothing else (it also reads on a short timeout, and goes on reading
 * without sleeping while batches are large). A wakeup costs the traced program several
 * microseconds (an interrupt to another CPU: on a virtual machine, a VM exit), more than
 * everything else the programs do. */
#define WAKEUP_BYTES (256 * 1024)

static __always_inline void submit(struct event *e)
{
	/* The waiting data includes this record: reserving it advanced the producer. */
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	int crossing = waiting >= WAKEUP_BYTES && waiting - sizeof(struct event) < WAKEUP_BYTES;
	bpf_ringbuf_submit(e, crossing ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&counts, &slot);
	if (n)
		*n += 1;
}

static __always_inline void fill_common(struct event *e, __u32 kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->kind = kind;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	/* User space keeps the parent of a process from exec and fork records. */
	if (kind != KIND_SYSCALL)
		e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	else
		e->ppid = 0;
	e->ts = bpf_ktime_get_ns();
	e->cgroup = bpf_get_current_cgroup_id();
	e->len0 = 0;
	e->len1 = 0;
	e->argv_len = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* A ring-buffer record of `kind` with what every record carries, or NULL (counted as a drop
 * for this CPU) when the ring buffer is full. */
static __always_inline struct event *start_record(__u32 kind)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
	if (!e) {
		count(COUNT_DROPPED);
		return NULL;
	}
	fill_common(e, kind);
	return e;
}

static __always_inline __u32 user_str(char *dst, __u64 src)
{
	if (!src)
		return 0;
	long n = bpf_probe_read_user_str(dst, STR_MAX, (const void *)src);
	return n > 0 ? (__u32)n : 0;
}

/* Benchmark only (scripts/bench-sensor.sh, FLOOR=1 and STEPS=1): an openat program that stops
 * after step N of its work, to see what each step costs. 0: at once; 1: after the
 * configuration and the registers; 2: after reading the path; 3: after the unusual-path test;
 * 4: after the prefix lookup. Never set in a real build. */
#ifdef KSO_BENCH_STOP
#define BENCH_STOP(step, id) \
	if ((id) == 257 && KSO_BENCH_STOP == (step)) \
		return 0;
#else
#define BENCH_STOP(step, id)
#endif

#define ONES 0x0101010101010101ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL

/* 0x80 in each byte of `x` that is zero and 0 in the others. Exact, unlike the shorter
 * (x - ONES) & ~x test: no carry crosses from one byte to the next. */
static __always_inline __u64 zero_bytes(__u64 x)
{
	return ~(((x & LOW7) + LOW7) | x | LOW7);
}

/* True when the normalised form of the path (`len` bytes at `d`, NUL at d[len]) can differ
 * from its text, so its text cannot be judged: relative, a trailing '/', an empty component
 * ("//"), a "." component ("/./" or a final "/."), or ".." anywhere. The same test as
 * kubesecops_runtime::pathfilter::is_unusual_path, eight starting positions at a time. */
static __always_inline int path_is_unusual(const char *d, __u32 len)
{
	if (len == 0 || d[0] != '/' || d[(len - 1) & (STR_MAX - 1)] == '/')
		return 1;
	for (__u32 j = 0; j < STR_MAX; j += 8) {
		/* The pairs starting at j .. j+7 that lie inside the path: those before len - 1. */
		if (j + 1 >= len)
			break;
		__u64 a = *(const __u64 *)(d + j);
		__u64 b = *(const __u64 *)(d + j + 1);
		__u64 c = *(const __u64 *)(d + j + 2);
		__u64 slash_a = zero_bytes(a ^ ('/' * ONES)), dot_a = zero_bytes(a ^ ('.' * ONES));
		__u64 slash_b = zero_bytes(b ^ ('/' * ONES)), dot_b = zero_bytes(b ^ ('.' * ONES));
		/* After "/.", a '/' or the end: the NUL that follows the path. */
		__u64 end_c = zero_bytes(c ^ ('/' * ONES)) | zero_bytes(c);
		__u64 hit = (slash_a & slash_b) | (dot_a & dot_b) | (slash_a & dot_b & end_c);
		__u32 inside = len - 1 - j;
		if (inside < 8)
			hit &= (1ULL << (inside * 8)) - 1;
		if (hit)
			return 1;
	}
	return 0;
}

/* Whether an open of this path (in `buf`, `len` bytes) can matter to the loaded rules: an
 * unusual path, a prefix in open_prefixes, or a suffix of the configuration. */
static __always_inline int open_wanted(struct path_buf *buf, __u32 len, const struct config *cfg, long id)
{
	len &= STR_MAX - 1;
	if (path_is_unusual(buf->data, len))
		return 1;
	BENCH_STOP(3, id)
	buf->prefixlen = len * 8;
	if (bpf_map_lookup_elem(&open_prefixes, &buf->prefixlen))
		return 1;
	BENCH_STOP(4, id)
	/* The last SUFFIX_MAX bytes of the path, and for a shorter path what precedes it in
	 * the buffer (no suffix longer than the path is compared). */
	const char *tail = buf->data + len - SUFFIX_MAX;
	__u64 t0 = *(const __u64 *)tail, t1 = *(const __u64 *)(tail + 8);
	__u64 t2 = *(const __u64 *)(tail + 16), t3 = *(const __u64 *)(tail + 24);
	for (__u32 k = 0; k < SUFFIX_SLOTS; k++) {
		if (k >= cfg->suffix_count)
			break;
		const __u64 *w = cfg->suffix_word[k], *m = cfg->suffix_mask[k];
		/* The last word first: most suffixes differ there. */
		if ((t3 & m[3]) != w[3] || cfg->suffix_len[k] > len)
			continue;
		if ((t2 & m[2]) == w[2] && (t1 & m[1]) == w[1] && (t0 & m[0]) == w[0])
			return 1;
	}
	return 0;
}

/* One program per watched syscall, on its syscalls/sys_exit_NAME tracepoint: the other
 * syscalls run no program at all (a program on raw_syscalls would run on every read, write
 * and futex of the node), and there is no enter program: the arguments are still in the
 * registers saved at entry, and the user memory they point to is still mapped, when the
 * syscall returns. The exit context has the result at offset 16. */
static __always_inline int do_exit(void *ctx, long id)
{
	BENCH_STOP(0, id)
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct task_struct *task = bpf_get_current_task_btf();
	if (!cfg || task->tgid == cfg->self_pid)
		return 0;
	/* The saved registers are read in place (a typed kernel pointer): a helper call that
	 * copies them costs more than the filter below, on a kernel with return thunks. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	BENCH_STOP(1, id)
	/* Opens are most of what is watched, and most open files no rule is about: the path is
	 * judged before a record is reserved, and what no rule can want is only counted. */
	long opened_len = -1;
	struct path_buf *buf = NULL;
	if ((id == 2 || id == 257 || id == 437) && cfg->filter_opens) {
		buf = bpf_map_lookup_elem(&scratch, &zero);
		if (!buf)
			return 0;
		__u64 path = id == 2 ? regs->di : regs->si;
		long n = path ? bpf_probe_read_user_str(buf->data, STR_MAX, (const void *)path) : 0;
		__u32 len = n > 0 ? (__u32)(n - 1) : 0;
		BENCH_STOP(2, id)
		if (!open_wanted(buf, len, cfg, id)) {
			count(COUNT_FILTERED);
			return 0;
		}
		opened_len = n;
	}
	struct event *e = start_record(KIND_SYSCALL);
	if (!e)
		return 0;
	e->id = id;
	e->ret = *(long *)(ctx + 16);
	__u64 *args = e->args;
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
	if (opened_len >= 0) {
		if (buf && opened_len > 0 && bpf_probe_read_kernel(e->s0, STR_MAX, buf->data) == 0)
			e->len0 = (__u32)opened_len;
		submit(e);
		return 0;
	}
	/* `id` is a constant in each program: the compiler keeps only its case. */
	switch (id) {
	case 2:   /* open(path) */
	case 88:  /* symlink(target, linkpath) */
	case 86:  /* link(old, new) */
	case 165: /* mount(source, target) */
	case 319: /* memfd_create(name) */
	case 80:  /* chdir(path) */
		e->len0 = user_str(e->s0, args[0]);
		if (id != 2 && id != 319 && id != 80)
			e->len1 = user_str(e->s1, args[1]);
		break;
	case 257: /* openat(dirfd, path) */
	case 437:
	case 263: /* unlinkat(dirfd, path) */
		e->len0 = user_str(e->s0, args[1]);
		break;
	case 316: /* renameat2(olddirfd, old, newdirfd, new) */
	case 265: /* linkat(olddirfd, old, newdirfd, new) */
		e->len0 = user_str(e->s0, args[1]);
		e->len1 = user_str(e->s1, args[3]);
		break;
	case 266: /* symlinkat(target, newdirfd, linkpath) */
		e->len0 = user_str(e->s0, args[0]);
		e->len1 = user_str(e->s1, args[2]);
		break;
	case 42: /* connect(fd, sockaddr, len) */
		if (bpf_probe_read_user(e->s0, 28, (const void *)args[1]) == 0)
			e->len0 = 28;
		break;
	}
	submit(e);
	return 0;
}

#define WATCH(name, nr)                                                   \
	SEC("tracepoint/syscalls/sys_exit_" #name)                        \
	int exit_##name(void *ctx) { return do_exit(ctx, nr); }

/* x86_64 syscall numbers. */
WATCH(open, 2)
WATCH(openat, 257)
WATCH(openat2, 437)
WATCH(connect, 42)
WATCH(accept, 43)
WATCH(accept4, 288)
WATCH(ptrace, 101)
WATCH(mount, 165)
WATCH(unshare, 272)
WATCH(setns, 308)
WATCH(init_module, 175)
WATCH(finit_module, 313)
WATCH(memfd_create, 319)
WATCH(unlinkat, 263)
WATCH(renameat2, 316)
WATCH(symlinkat, 266)
WATCH(symlink, 88)
WATCH(linkat, 265)
WATCH(link, 86)
WATCH(bpf, 321)
WATCH(setuid, 105)
WATCH(setgid, 106)
WATCH(setreuid, 113)
WATCH(setregid, 114)
WATCH(setresuid, 117)
WATCH(setresgid, 119)
/* The process table follows working directories: a relative path means nothing without. */
WATCH(chdir, 80)
WATCH(fchdir, 81)

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct event *e = start_record(KIND_EXEC);
	if (!e)
		return 0;
	e->id = 59;
	e->ret = 0;
	__u32 loc = *(__u32 *)(ctx + 8);
	long n = bpf_probe_read_kernel_str(e->s0, STR_MAX, ctx + (loc & 0xffff));
	e->len0 = n > 0 ? (__u32)n : 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	unsigned long len = end - start;
	if (len >= ARGV_MAX)
		len = ARGV_MAX - 1;
	len &= (ARGV_MAX - 1);
	if (len > 0 && bpf_probe_read_user(e->argv, len, (const void *)start) == 0)
		e->argv_len = len;
	const unsigned char *exe_name = BPF_CORE_READ(mm, exe_file, f_path.dentry, d_name.name);
	n = bpf_probe_read_kernel_str(e->s1, STR_MAX, exe_name);
	e->len1 = n > 0 ? (__u32)n : 0;
	submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx)
{
	struct event *e = start_record(KIND_FORK);
	if (!e)
		return 0;
	e->ppid = *(__u32 *)(ctx + 12);
	e->id = *(__s32 *)(ctx + 20); /* the child */
	e->ret = 0;
	submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	/* Only the end of a whole process (its last thread) matters to the process table. */
	if (!*(__u8 *)(ctx + 32))
		return 0;
	struct event *e = start_record(KIND_EXIT);
	if (!e)
		return 0;
	e->id = 0;
	e->ret = 0;
	submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

package runtime

import (
	"encoding/binary"

	"github.com/tetratelabs/wazero/api"
)

// WASI preview 1, as far as a deterministic contract may see it. Go's
// wasip1 port imports a handful of these functions at start-up (clocks,
// random, args/environ sizes, fd_write, poll_oneoff, proc_exit,
// sched_yield) and more as the program grows (the os package pulls in the
// file-system calls). Every function of the snapshot is provided, with
// its exact signature, so any such module instantiates; but only these
// do anything:
//
//	clock_time_get  realtime = block time + virtual elapsed time;
//	                monotonic = a virtual clock that only sleeping advances
//	clock_res_get   1 ns
//	random_get      the call's deterministic random stream
//	fd_write        fds 1 and 2 append to the call's bounded log buffer
//	poll_oneoff     clock subscriptions complete at once, advancing the
//	                virtual clock; fd subscriptions complete with EBADF
//	args/environ    empty
//	sched_yield     no-op
//	proc_exit       ends the call as a trap
//
// Everything else returns EBADF (descriptor calls: there are no
// descriptors, no preopened directories) or ENOSYS.
const wasiModule = "wasi_snapshot_preview1"

// WASI errno values.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoInval   = 28
	errnoNosys   = 52
)

// monoBase is the virtual monotonic clock at the start of initialisation
// (Go's runtime refuses a zero nanotime).
const monoBase = 1 << 30

func wasiFuncs() []hostFunc {
	p := func(ts ...api.ValueType) []api.ValueType { return ts }
	ret := p(i32t)
	stub := func(errno uint64) func(*callState, api.Module, []uint64) {
		return func(st *callState, _ api.Module, s []uint64) {
			st.charge(gasWASIDefault)
			s[0] = errno
		}
	}
	badf, nosys := stub(errnoBadf), stub(errnoNosys)
	return []hostFunc{
		{"args_get", p(i32t, i32t), ret, stub(errnoSuccess)},
		{"args_sizes_get", p(i32t, i32t), ret, wasiZeroPair},
		{"environ_get", p(i32t, i32t), ret, stub(errnoSuccess)},
		{"environ_sizes_get", p(i32t, i32t), ret, wasiZeroPair},
		{"clock_res_get", p(i32t, i32t), ret, wasiClockRes},
		{"clock_time_get", p(i32t, i64t, i32t), ret, wasiClockTime},
		{"fd_advise", p(i32t, i64t, i64t, i32t), ret, badf},
		{"fd_allocate", p(i32t, i64t, i64t), ret, badf},
		{"fd_close", p(i32t), ret, badf},
		{"fd_datasync", p(i32t), ret, badf},
		{"fd_fdstat_get", p(i32t, i32t), ret, badf},
		{"fd_fdstat_set_flags", p(i32t, i32t), ret, badf},
		{"fd_fdstat_set_rights", p(i32t, i64t, i64t), ret, badf},
		{"fd_filestat_get", p(i32t, i32t), ret, badf},
		{"fd_filestat_set_size", p(i32t, i64t), ret, badf},
		{"fd_filestat_set_times", p(i32t, i64t, i64t, i32t), ret, badf},
		{"fd_pread", p(i32t, i32t, i32t, i64t, i32t), ret, badf},
		{"fd_prestat_get", p(i32t, i32t), ret, badf},
		{"fd_prestat_dir_name", p(i32t, i32t, i32t), ret, badf},
		{"fd_pwrite", p(i32t, i32t, i32t, i64t, i32t), ret, badf},
		{"fd_read", p(i32t, i32t, i32t, i32t), ret, badf},
		{"fd_readdir", p(i32t, i32t, i32t, i64t, i32t), ret, badf},
		{"fd_renumber", p(i32t, i32t), ret, badf},
		{"fd_seek", p(i32t, i64t, i32t, i32t), ret, badf},
		{"fd_sync", p(i32t), ret, badf},
		{"fd_tell", p(i32t, i32t), ret, badf},
		{"fd_write", p(i32t, i32t, i32t, i32t), ret, wasiFdWrite},
		{"path_create_directory", p(i32t, i32t, i32t), ret, badf},
		{"path_filestat_get", p(i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"path_filestat_set_times", p(i32t, i32t, i32t, i32t, i64t, i64t, i32t), ret, badf},
		{"path_link", p(i32t, i32t, i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"path_open", p(i32t, i32t, i32t, i32t, i32t, i64t, i64t, i32t, i32t), ret, badf},
		{"path_readlink", p(i32t, i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"path_remove_directory", p(i32t, i32t, i32t), ret, badf},
		{"path_rename", p(i32t, i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"path_symlink", p(i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"path_unlink_file", p(i32t, i32t, i32t), ret, badf},
		{"poll_oneoff", p(i32t, i32t, i32t, i32t), ret, wasiPollOneoff},
		{"proc_exit", p(i32t), nil, wasiProcExit},
		{"proc_raise", p(i32t), ret, nosys},
		{"sched_yield", nil, ret, stub(errnoSuccess)},
		{"random_get", p(i32t, i32t), ret, wasiRandomGet},
		{"sock_accept", p(i32t, i32t, i32t), ret, badf},
		{"sock_recv", p(i32t, i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"sock_send", p(i32t, i32t, i32t, i32t, i32t), ret, badf},
		{"sock_shutdown", p(i32t, i32t), ret, badf},
	}
}

// wasiZeroPair answers args_sizes_get / environ_sizes_get: zero entries,
// zero bytes.
func wasiZeroPair(st *callState, mod api.Module, s []uint64) {
	st.charge(gasWASIDefault)
	a := st.view(mod, "sizes_get", uint32(s[0]), 4)
	b := st.view(mod, "sizes_get", uint32(s[1]), 4)
	clear(a)
	clear(b)
	s[0] = errnoSuccess
}

func wasiClockRes(st *callState, mod api.Module, s []uint64) {
	st.charge(gasWASIDefault)
	if uint32(s[0]) > 3 {
		s[0] = errnoInval
		return
	}
	binary.LittleEndian.PutUint64(st.view(mod, "clock_res_get", uint32(s[1]), 8), 1)
	s[0] = errnoSuccess
}

// clockNow reads clock id: 0 realtime, 1 monotonic, 2/3 process/thread
// CPU time (virtual elapsed time of the call).
func (st *callState) clockNow(id uint32) (uint64, bool) {
	elapsed := st.mono - st.monoStart
	switch id {
	case 0:
		return uint64(st.timeNs) + elapsed, true
	case 1:
		return st.mono, true
	case 2, 3:
		return elapsed, true
	}
	return 0, false
}

func wasiClockTime(st *callState, mod api.Module, s []uint64) {
	st.charge(gasWASIDefault)
	v, ok := st.clockNow(uint32(s[0]))
	if !ok {
		s[0] = errnoInval
		return
	}
	binary.LittleEndian.PutUint64(st.view(mod, "clock_time_get", uint32(s[2]), 8), v)
	s[0] = errnoSuccess
}

// fd_write(fd, iovs, iovs_len, nwritten): stdout and stderr go to the log
// buffer (silently truncated at MaxLogBytes; the guest is told everything
// was written so it never retries or aborts).
func wasiFdWrite(st *callState, mod api.Module, s []uint64) {
	const fn = "fd_write"
	st.charge(gasWASIDefault)
	fd, iovs, n := uint32(s[0]), uint32(s[1]), uint32(s[2])
	if fd != 1 && fd != 2 {
		s[0] = errnoBadf
		return
	}
	if n > 1024 {
		s[0] = errnoInval
		return
	}
	vec := st.view(mod, fn, iovs, n*8)
	var total uint64
	for i := uint32(0); i < n; i++ {
		ptr := binary.LittleEndian.Uint32(vec[8*i:])
		l := binary.LittleEndian.Uint32(vec[8*i+4:])
		st.charge(uint64(l) * gasHostByte)
		st.appendLog(st.view(mod, fn, ptr, l))
		total += uint64(l)
	}
	binary.LittleEndian.PutUint32(st.view(mod, fn, uint32(s[3]), 4), uint32(total))
	s[0] = errnoSuccess
}

// Layout of WASI subscription (48 bytes) and event (32 bytes) records.
const (
	subSize      = 48
	eventSize    = 32
	evtClock     = 0
	clockAbstime = 1
	maxPollSubs  = 4096
)

// poll_oneoff(in, out, nsubscriptions, nevents): never blocks. With fd
// subscriptions (there are no descriptors) each completes with EBADF and
// no time passes; otherwise the virtual clock jumps to the earliest clock
// deadline and every clock subscription due by then completes.
func wasiPollOneoff(st *callState, mod api.Module, s []uint64) {
	const fn = "poll_oneoff"
	in, out, n := uint32(s[0]), uint32(s[1]), uint32(s[2])
	if n == 0 || n > maxPollSubs {
		st.charge(gasPollOneoff)
		s[0] = errnoInval
		return
	}
	st.charge(gasPollOneoff + uint64(n)*10)
	subs := st.view(mod, fn, in, n*subSize)
	evs := st.view(mod, fn, out, n*eventSize)
	nevWant := uint32(0)
	for i := uint32(0); i < n; i++ {
		if subs[i*subSize+8] != evtClock {
			nevWant++
		}
	}
	writeEvent := func(k uint32, userdata uint64, errno uint16, typ byte) {
		e := evs[k*eventSize : (k+1)*eventSize]
		clear(e)
		binary.LittleEndian.PutUint64(e[0:], userdata)
		binary.LittleEndian.PutUint16(e[8:], errno)
		e[10] = typ
	}
	var k uint32
	if nevWant > 0 {
		for i := uint32(0); i < n; i++ {
			sub := subs[i*subSize:]
			if typ := sub[8]; typ != evtClock {
				writeEvent(k, binary.LittleEndian.Uint64(sub), errnoBadf, typ)
				k++
			}
		}
	} else {
		// Deadlines on the virtual monotonic clock, all relative to the
		// clock at entry.
		start := st.mono
		deadlines := make([]uint64, n)
		next := ^uint64(0)
		for i := range deadlines {
			sub := subs[uint32(i)*subSize:]
			id := binary.LittleEndian.Uint32(sub[16:])
			timeout := binary.LittleEndian.Uint64(sub[24:])
			d := satAdd(start, timeout)
			if binary.LittleEndian.Uint16(sub[40:])&clockAbstime != 0 {
				now, ok := st.clockNow(id)
				switch {
				case !ok || timeout <= now:
					d = start
				default:
					d = satAdd(start, timeout-now)
				}
			}
			deadlines[i] = d
			next = min(next, d)
		}
		if next > st.mono {
			st.mono = next
		}
		for i, d := range deadlines {
			if d <= st.mono {
				writeEvent(k, binary.LittleEndian.Uint64(subs[uint32(i)*subSize:]), errnoSuccess, evtClock)
				k++
			}
		}
	}
	binary.LittleEndian.PutUint32(st.view(mod, fn, uint32(s[3]), 4), k)
	s[0] = errnoSuccess
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

func wasiProcExit(st *callState, _ api.Module, s []uint64) {
	st.fail(&exitError{code: uint32(s[0])})
}

func wasiRandomGet(st *callState, mod api.Module, s []uint64) {
	n := uint32(s[1])
	st.charge(gasRandomBase + uint64(n)*gasRandomByteCost)
	st.nextRandom(st.view(mod, "random_get", uint32(s[0]), n))
	s[0] = errnoSuccess
}

package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// The virtual agents run at a lower CPU priority than the hub and the people's process: a fleet's
// agents run on their own machines, and here they share two cores with the hub. Their start —
// 10,000 TLS handshakes and full reports built within 30 s — took 60–114 % of one core while the
// hub took 90–126 %: the machine had no CPU free, and the hub's answers to people waited for one
// (docs/benchmarks.md). At a lower priority the agents still get every CPU the hub leaves.
//
// Linux keeps a nice value per thread, and a new thread starts with its creator's: so every
// thread of this process is set, and the threads the Go runtime starts later inherit it. The
// processes started before (the hub, the people's) keep their own.

// setNice sets every thread of this process to nice, unless it already runs at that or a lower
// priority, and returns a function that sets them back where the process may (raising a
// priority needs CAP_SYS_NICE).
func setNice(nice int) (restore func(), err error) {
	before, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return nil, err
	}
	// The system call returns 20 - nice on Linux.
	was := 20 - before
	if was >= nice {
		return func() {}, nil
	}
	if err := setThreadsNice(nice); err != nil {
		return nil, err
	}
	return func() { setThreadsNice(was) }, nil
}

// setThreadsNice sets every thread of this process to nice; twice, so that a thread started while
// the first pass ran is set too.
func setThreadsNice(nice int) error {
	for range 2 {
		tids, err := threadIDs()
		if err != nil {
			return err
		}
		for _, tid := range tids {
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("setting thread %d to nice %d: %w", tid, nice, err)
			}
		}
	}
	return nil
}

// threadsNice is the lowest nice value among this process's threads: the agents ran at that
// or lower priority.
func threadsNice() (int, error) {
	tids, err := threadIDs()
	if err != nil {
		return 0, err
	}
	lowest := 20
	for _, tid := range tids {
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if err != nil {
			continue // the thread ended
		}
		lowest = min(lowest, 20-p)
	}
	return lowest, nil
}

// threadIDs lists this process's threads.
func threadIDs() ([]int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("listing this process's threads: %w", err)
	}
	tids := make([]int, 0, len(tasks))
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

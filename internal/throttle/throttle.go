// Package throttle counts failures per key (an account, a client address) in a sliding window and
// says how long a key must wait once it has failed too often: it bounds password guessing at the
// hub's login, where every attempt costs a bcrypt.
package throttle

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Limiter allows Max failures per key within Window. It remembers at most MaxKeys keys, so that a
// flood of new keys cannot grow it without bound: past that, the key whose last failure is oldest
// is forgotten first.
type Limiter struct {
	Max     int
	Window  time.Duration
	MaxKeys int

	clock    clock.PassiveClock
	mu       sync.Mutex
	failures map[string][]time.Time // within the window, oldest first
}

// New returns a Limiter; see Limiter for the meaning of its settings.
func New(clk clock.PassiveClock, max int, window time.Duration, maxKeys int) *Limiter {
	return &Limiter{Max: max, Window: window, MaxKeys: maxKeys, clock: clk, failures: map[string][]time.Time{}}
}

// Wait is how long key must wait before it may try again; 0 means now.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	times := l.recent(key, now)
	if len(times) < l.Max {
		return 0
	}
	// The window slides: the key may try again when its oldest counted failure leaves it.
	return times[len(times)-l.Max].Add(l.Window).Sub(now)
}

// Fail records a failure of key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	times := l.recent(key, now)
	if times == nil && len(l.failures) >= l.MaxKeys {
		l.evict(now)
	}
	if len(times) >= l.Max { // only the newest Max failures matter
		times = times[1:]
	}
	l.failures[key] = append(times, now)
}

// Reset forgets key's failures (after it succeeded).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

// recent drops key's failures that left the window and returns the rest.
func (l *Limiter) recent(key string, now time.Time) []time.Time {
	times := l.failures[key]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= l.Window {
		i++
	}
	if i == len(times) {
		delete(l.failures, key)
		return nil
	}
	times = times[i:]
	l.failures[key] = times
	return times
}

// evict makes room for one key: the keys whose failures all left the window go, and if none did,
// the key whose last failure is oldest.
func (l *Limiter) evict(now time.Time) {
	oldestKey, oldest := "", now
	for k, times := range l.failures {
		last := times[len(times)-1]
		if now.Sub(last) >= l.Window {
			delete(l.failures, k)
			continue
		}
		if !last.After(oldest) {
			oldestKey, oldest = k, last
		}
	}
	if len(l.failures) >= l.MaxKeys {
		delete(l.failures, oldestKey)
	}
}

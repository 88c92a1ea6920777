// Package wakeup lets agents' long-polls wait for the next change of their cluster: the API's
// writes and the engine's both wake them, so the one set of waiters is built by the composition
// root and handed to each.
package wakeup

import "sync"

// Waiters wakes long-polls when a cluster changes. The zero value is ready to use.
type Waiters struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// Wait returns a channel closed at the next change of the cluster.
func (w *Waiters) Wait(clusterUID string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = map[string]chan struct{}{}
	}
	c, ok := w.ch[clusterUID]
	if !ok {
		c = make(chan struct{})
		w.ch[clusterUID] = c
	}
	return c
}

// Wake ends every wait on the cluster.
func (w *Waiters) Wake(clusterUID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.ch[clusterUID]; ok {
		close(c)
		delete(w.ch, clusterUID)
	}
}

// Package wakeup lets agents' long-polls wait for the next change of their cluster: the API's
// writes and the engine's both wake them, so the one set of waiters is built by the composition
// root and handed to each.
package wakeup

import "sync"

// Waiters wakes long-polls when a cluster changes. The zero value is ready to use.
type Waiters struct {
	// Publish, if set, is told of every Wake, to carry it to the other hub replicas' waiters
	// (which get it through WakeHere).
	Publish func(clusterUID string)

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

// Wake ends every wait on the cluster, on every hub replica.
func (w *Waiters) Wake(clusterUID string) {
	w.WakeHere(clusterUID)
	if w.Publish != nil {
		w.Publish(clusterUID)
	}
}

// WakeHere ends every wait on the cluster on this hub.
func (w *Waiters) WakeHere(clusterUID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.ch[clusterUID]; ok {
		close(c)
		delete(w.ch, clusterUID)
	}
}

// WakeAll ends every wait on this hub: each re-reads its cluster (after wake-ups may have been
// lost).
func (w *Waiters) WakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for uid, c := range w.ch {
		close(c)
		delete(w.ch, uid)
	}
}

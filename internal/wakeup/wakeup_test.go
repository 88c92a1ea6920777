package wakeup_test

import (
	"testing"

	"github.com/easelhq/easel/internal/wakeup"
)

func TestWakeEndsEveryWaitOnTheClusterOnly(t *testing.T) {
	var w wakeup.Waiters
	a1, a2, b := w.Wait("a"), w.Wait("a"), w.Wait("b")
	w.Wake("a")
	for i, c := range []<-chan struct{}{a1, a2} {
		select {
		case <-c:
		default:
			t.Fatalf("wait %d on a is still open after Wake(a)", i)
		}
	}
	select {
	case <-b:
		t.Fatal("Wake(a) ended the wait on b")
	default:
	}
	select {
	case <-w.Wait("a"):
		t.Fatal("a wait begun after Wake(a) is already over")
	default:
	}
}

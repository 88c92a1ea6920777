package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/browser"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// The nodes page in a real Chromium, as a cluster admin: a worker goes into maintenance through
// the question (Cancel closes it, Confirm asks the hub) and its drain shows Completed without a
// reload; the doctor runs from the page and its findings appear; maintenance ends the same way.
// Two workers, because the hub refuses maintenance of the last schedulable one.
func TestConsoleNodes(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "yard", 2, "")
	createUser(t, addr, project, "ops@example.com", "cluster-admin")

	b := browser.New(t)
	signIn(b, addr, "ops@example.com")
	b.Run(chromedp.Navigate("http://"+addr+"/clusters/"+uid+"/nodes"), chromedp.WaitVisible(chromedp.CSS("#nodes")))
	worker := browser.Get(b, chromedp.Evaluate[string](`[...document.querySelectorAll("#nodes tr[data-node]")]
		.filter(r => r.cells[2].textContent.trim() === "worker").map(r => r.dataset.node).sort()[0] || ""`))
	if worker == "" {
		t.Fatalf("no worker on the nodes page:\n%s", browser.Get(b, chromedp.Evaluate[string](`document.querySelector("#nodes").innerText`)))
	}
	row := `#nodes tr[data-node="` + worker + `"]`
	// A mark set on the page survives only if the page is never reloaded.
	browser.Get(b, chromedp.Evaluate[bool](`window.easelMark = true`))
	maintenance := func() (action, state string) {
		got := browser.Get(b, chromedp.Evaluate[[]string](`(r => r ? [r.dataset.maintenanceAction || "", r.dataset.maintenanceState || ""] : ["", ""])(document.querySelector('`+row+`'))`))
		return got[0], got[1]
	}
	// confirm opens the row's maintenance question and returns its text.
	confirm := func(row, label string) string {
		t.Helper()
		if got := browser.Text(b, row+" a.button"); got != label {
			t.Fatalf("the row's maintenance control says %q; want %q", got, label)
		}
		browser.Click(b, row+" a.button")
		b.Run(chromedp.WaitVisible(chromedp.CSS("form.confirm")))
		return browser.Get(b, chromedp.Text(chromedp.CSS("#confirm-question")))
	}

	// Cancel closes the question; nothing is asked of the hub.
	confirm(row, "Maintenance on")
	b.Run(chromedp.Click(chromedp.CSS(`form.confirm [data-dismiss]`)), chromedp.WaitNotPresent(chromedp.CSS("form.confirm")))
	if action, _ := maintenance(); action != "" {
		t.Fatalf("after Cancel the worker's maintenance is %q; want none", action)
	}

	if q := confirm(row, "Maintenance on"); q != "Put node "+worker+" into maintenance? Its pods are drained (DaemonSet and static pods stay)." {
		t.Errorf("the question: %q", q)
	}
	b.Screenshot("nodes-confirm")
	browser.Click(b, `form.confirm button[type="submit"]`)
	b.Run(chromedp.WaitVisible(chromedp.CSS(`#confirm p.done`)))
	poll.Eventually(t, 2*time.Minute, "the worker's maintenance to show Completed", func() error {
		action, state := maintenance()
		return poll.Unless(action == "cordon" && state == "Completed", "maintenance %q %q", action, state)
	})
	if icon := browser.Get(b, chromedp.Evaluate[bool](`!!document.querySelector('`+row+` td.health [aria-label="In maintenance"]')`)); !icon {
		t.Error("the worker in maintenance has no 🔧 in its health column")
	}

	// The other worker is now the last schedulable one: the hub refuses, and the page says why in
	// the question's place.
	other := browser.Get(b, chromedp.Evaluate[string](`[...document.querySelectorAll("#nodes tr[data-node]")]
		.filter(r => r.cells[2].textContent.trim() === "worker" && r.dataset.node !== "`+worker+`").map(r => r.dataset.node)[0] || ""`))
	confirm(`#nodes tr[data-node="`+other+`"]`, "Maintenance on")
	browser.Click(b, `form.confirm button[type="submit"]`)
	poll.Eventually(t, 30*time.Second, "the refusal to show in the question's place", func() error {
		refusal := browser.Get(b, chromedp.Evaluate[string](`(document.querySelector('form.confirm [role="alert"]') || {}).textContent || (document.querySelector("#confirm") || {outerHTML: "no #confirm at " + location.href}).outerHTML`))
		return poll.Unless(strings.Contains(refusal, other+" is the last schedulable worker"), "shown: %s", refusal)
	})
	b.Run(chromedp.Click(chromedp.CSS(`form.confirm [data-dismiss]`)), chromedp.WaitNotPresent(chromedp.CSS("form.confirm")))

	// The doctor, from the page: its part refreshes itself until the run's findings are there.
	browser.Click(b, "#run-doctor")
	poll.Eventually(t, 2*time.Minute, "the doctor's run to complete on the page", func() error {
		state := browser.Get(b, chromedp.Evaluate[string](`(document.querySelector("[data-doctor-state]") || {dataset: {}}).dataset.doctorState || ""`))
		nodes := browser.Get(b, chromedp.Evaluate[int](`document.querySelectorAll("article.doctor-node").length`))
		return poll.Unless(state == "Completed" && nodes == 3, "run %q, findings of %d nodes", state, nodes)
	})
	// The agent's usage report fills the CPU column (every figure of a node, "-" before it).
	poll.Eventually(t, 2*time.Minute, "the worker's usage to show", func() error {
		cpu := browser.Text(b, row+" td:nth-of-type(5)")
		return poll.Unless(strings.Contains(cpu, "cores"), "CPU %q", cpu)
	})
	b.Screenshot("nodes")

	if q := confirm(row, "Maintenance off"); !strings.HasPrefix(q, "Take node "+worker+" out of maintenance?") {
		t.Errorf("the question to end maintenance: %q", q)
	}
	browser.Click(b, `form.confirm button[type="submit"]`)
	poll.Eventually(t, time.Minute, "the worker to leave maintenance", func() error {
		action, state := maintenance()
		label := browser.Text(b, row+" a.button")
		return poll.Unless(action == "uncordon" && state == "Completed" && label == "Maintenance on",
			"maintenance %q %q, control %q", action, state, label)
	})
	if !browser.Get(b, chromedp.Evaluate[bool](`window.easelMark === true`)) {
		t.Error("the nodes page was reloaded; its table and the doctor's part should refresh alone")
	}
	if n := browser.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('`+row+` td.health [aria-label="In maintenance"]').length`)); n != 0 {
		t.Errorf("the worker out of maintenance still shows %d 🔧", n)
	}
}

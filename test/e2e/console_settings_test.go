package e2e_test

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/browser"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// A cluster's settings in a real Chromium, as a cluster admin: a log bundle is requested, turns
// Completed without a reload, and downloads through the browser as spectro_logs.zip holding the
// hub's view of the cluster; the worker pool is scaled from 1 to 2 from its form and its second
// machine comes up.
func TestConsoleSettings(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "settings", 1, `,{"name":"cni-calico","tag":"3.30.3"}`)
	createUser(t, addr, project, "ops@example.com", "cluster-admin")
	var addOn struct{ UID string }
	if code := api(t, addr, project, "POST", "/v1/clusterprofiles", `{"metadata":{"name":"monitoring"},"spec":{"version":"1.0.0",
		"template":{"type":"add-on","cloudType":"local","packs":[{"name":"prometheus-operator","tag":"0.85.0"}]}}}`, &addOn); code != 201 {
		t.Fatalf("creating the add-on profile: %d", code)
	}
	api(t, addr, project, "PATCH", "/v1/clusterprofiles/"+addOn.UID+"/publish", "", nil)

	b := browser.New(t)
	signIn(b, addr, "ops@example.com")
	settings := "http://" + addr + "/clusters/" + uid + "/settings"
	b.Run(chromedp.Navigate(settings), chromedp.WaitVisible(chromedp.CSS("#log-requests")))
	if offered := browser.Get(b, chromedp.Text(chromedp.CSS("#attach-profile"))); offered != "monitoring 1.0.0" {
		t.Errorf("the add-on profiles offered to attach: %q; want monitoring 1.0.0", offered)
	}

	// The bundle's state refreshes in place: a mark set on the page after the request survives.
	b.Run(chromedp.Click(chromedp.CSS(`form[action$="/settings/logs"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#log-requests [data-request]`)))
	browser.Get(b, chromedp.Evaluate[bool](`window.easelMark = true`))
	poll.Eventually(t, 3*time.Minute, "the log bundle to be Completed", func() error {
		state := browser.Get(b, chromedp.Evaluate[string](`document.querySelector("#log-requests [data-state]").dataset.state`))
		return poll.Unless(state == "Completed", "state %s", state)
	})
	if !browser.Get(b, chromedp.Evaluate[bool](`window.easelMark === true`)) {
		t.Error("the page was reloaded to show the bundle Completed; its part should refresh alone")
	}
	b.Screenshot("settings")

	// The download link, clicked: Chromium saves the file under its download's guid.
	dir := t.TempDir()
	var saved string
	b.Run(chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		yes := true
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
			return err
		}
		progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
		if _, err := chromedp.Click(chromedp.CSS(`#log-requests a[download]`))(ctx, tab); err != nil {
			return err
		}
		for ev, err := range progress {
			switch {
			case err != nil:
				return err
			case ev.State == cdpbrowser.DownloadProgressStateCompleted:
				saved = filepath.Join(dir, ev.GUID)
				return nil
			case ev.State == cdpbrowser.DownloadProgressStateCanceled:
				return fmt.Errorf("the download of the bundle was canceled")
			}
		}
		return errors.New("the download's events ended before it completed")
	}))
	zr, err := zip.OpenReader(saved)
	if err != nil {
		t.Fatalf("the downloaded bundle does not open as a zip: %v", err)
	}
	defer zr.Close()
	if !slices.ContainsFunc(zr.File, func(f *zip.File) bool { return f.Name == "hub/cluster.yaml" }) {
		t.Errorf("the downloaded bundle has no hub/cluster.yaml")
	}

	// Scale the workers from 1 to 2 from the pool's form; the page shows both ready once they are.
	b.Run(chromedp.SetValue(chromedp.CSS("#size-workers"), "2"),
		chromedp.Click(chromedp.CSS(`tr[data-pool="workers"] button`)),
		// The scale's own notice: the bundle's is still on the page until the form's answer loads.
		chromedp.WaitVisible(`//p[@class="notice" and contains(., "new size is saved")]`))
	poll.Eventually(t, 3*time.Minute, "the workers pool to have 2 machines ready", func() error {
		b.Run(chromedp.Navigate(settings), chromedp.WaitVisible(chromedp.CSS(`tr[data-pool="workers"]`)))
		ready := browser.Get(b, chromedp.Evaluate[string](`document.querySelector('tr[data-pool="workers"] [data-ready]').dataset.ready`))
		return poll.Unless(ready == "2", "%s ready", ready)
	})
	if nodes := workerNodes(t, clusterClient(t, addr, project, uid)); len(nodes) != 2 {
		t.Errorf("the cluster's worker nodes after scaling: %v; want 2", nodes)
	}
}

package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/easelhq/easel/internal/testenv/browser"
)

// A viewer finds no write control on any page of a cluster, and a write forged from their session
// (with its CSRF token, as a page's script could send it) is refused by the service; a tenant admin
// reads the audit trail, where the viewer's refused attempt is not an entry but their login is.
func TestConsoleViewer(t *testing.T) {
	addr := startHub(t)
	project := defaultProject(t, addr)
	createUser(t, addr, project, "viewer@example.com", "viewer")
	body := `{"spec":{"emailId":"boss@example.com","password":"a long password 123","roles":["tenant-admin"]}}`
	if code := api(t, addr, "", "POST", "/v1/users", body, nil); code != 201 {
		t.Fatalf("creating the tenant admin: %d", code)
	}
	var imported struct{ UID string }
	if code := api(t, addr, project, "POST", "/v1/spectroclusters/generic/import", `{"metadata":{"name":"edge"}}`, &imported); code != 201 {
		t.Fatalf("importing a cluster: %d", code)
	}

	b := browser.New(t)
	signIn(b, addr, "viewer@example.com")
	if n := browser.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('main a[href="/clusters/new"]').length`)); n != 0 {
		t.Error("the viewer's grid offers to create a cluster")
	}
	b.Run(chromedp.Navigate(fmt.Sprintf("http://%s/clusters/%s?project=%s", addr, imported.UID, project)),
		chromedp.WaitVisible(chromedp.CSS("nav.tabs")))
	tabs := browser.Get(b, chromedp.Evaluate[[]string](`[location.pathname, ...[...document.querySelectorAll("nav.tabs a")].map(a => a.getAttribute("href"))]`))
	if len(tabs) < 3 {
		t.Fatalf("the cluster's tabs: %v; want the overview, nodes and settings", tabs)
	}
	for _, tab := range tabs {
		b.Run(chromedp.Navigate("http://"+addr+tab+"?project="+project), chromedp.WaitVisible(chromedp.CSS("main h1")))
		// The only form that posts is the header's logout.
		controls := browser.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main form[method="post"], main button:not([type="button"])')].map(e => e.outerHTML.slice(0, 120))`))
		if len(controls) > 0 {
			t.Errorf("the viewer's %s has write controls: %v", tab, controls)
		}
	}
	// A forged delete, sent from the viewer's own page with their CSRF token: the service refuses it.
	status := browser.Get(b, chromedp.Evaluate[int](fmt.Sprintf(`(async () => {
		const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
		const res = await fetch("/clusters/%s/settings/delete?project=%s", {method: "POST", headers: {"X-CSRF-Token": csrf},
			body: new URLSearchParams({name: "edge"})});
		return res.status;
	})()`, imported.UID, project), chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if status != 403 {
		t.Errorf("a viewer's forged delete: %d; want 403", status)
	}
	var cluster struct{ Metadata struct{ UID string } }
	if code := api(t, addr, project, "GET", "/v1/spectroclusters/"+imported.UID, "", &cluster); code != 200 {
		t.Fatalf("the cluster after the viewer's forged delete: %d; want it still there", code)
	}

	// The tenant admin's audit trail and API keys.
	b.Run(chromedp.Submit(chromedp.CSS("form.logout")), chromedp.WaitVisible(chromedp.CSS("#email")))
	signIn(b, addr, "boss@example.com")
	b.Run(chromedp.Click(chromedp.CSS(`header nav a[href^="/audit"]`)), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	trail := browser.Get(b, chromedp.Text(chromedp.CSS("table.audit tbody")))
	if !strings.Contains(trail, "viewer@example.com") || !strings.Contains(trail, "edge") {
		t.Errorf("the audit trail names neither the viewer nor the imported cluster:\n%s", trail)
	}
	b.Screenshot("audit")
	b.Run(chromedp.Click(chromedp.CSS(`header nav a[href="/apikeys"]`)), chromedp.WaitVisible(chromedp.CSS("#key-name")),
		chromedp.SendKeys(chromedp.CSS("#key-name"), "terraform"),
		chromedp.Submit(chromedp.CSS("#key-name")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	if key := browser.Get(b, chromedp.Value(chromedp.CSS("#new-key"))); !strings.HasPrefix(key, "easel-") {
		t.Errorf("the new key shown: %q", key)
	}
	b.Screenshot("apikeys")
}

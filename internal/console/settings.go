package console

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/client"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/store"
)

// A cluster's settings page: its pools (scaled from a form), its profiles (add-on profiles
// attached, upgraded and detached), a repave waiting for approval, its certificates (renewed on
// request), its log bundles (requested, followed live and downloaded) and its deletion. Every
// control is there only for those who may change the cluster; each posts to the service method
// the API's handler calls, with the body the API takes, so the console does nothing the API would
// refuse.

// settingsDone are the notices a settings form's redirect may show (?done=), by key: the page
// never echoes text from the URL.
var settingsDone = map[string]string{
	"scaled":   "The pool's new size is saved; the engine adds or drains and removes machines.",
	"attached": "The profile is attached; the agent applies its packs.",
	"upgraded": "The profile is replaced by the version chosen; the agent applies it.",
	"detached": "The profile is detached; the agent deletes what its packs applied.",
	"approved": "The repave is approved; machines are replaced one at a time.",
	"renewal":  "The renewal of the certificates is requested: the control-plane machines are replaced one at a time.",
	"logs":     "A log bundle is requested; its state below follows it.",
}

// poolRow is one machine pool as the settings show it.
type poolRow struct {
	Name, Role, InstanceType, Zones, Labels, Taints string
	Size, MinSize                                   int
	// Ready counts the pool's machines that are up and not being taken away.
	Ready   int
	DiskGiB int64
}

// attachedProfile is a profile attached to the cluster, with the other published versions of it
// it may be upgraded to (add-on profiles only).
type attachedProfile struct {
	clusters.ProfileRef
	Upgrades []profileChoice
}

// settings is the settings page; an htmx request gets the log bundles' part alone (it refreshes
// itself while a bundle is being made).
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s *session) error {
	rec, cl, err := c.o.Clusters.Get(r.Context(), &s.call, clustersvc.ByUID(r.PathValue("uid")))
	if err != nil {
		return err
	}
	if r.Header.Get("HX-Request") == "true" {
		data, err := c.logsData(r, s, rec)
		if err != nil {
			return err
		}
		c.render(w, http.StatusOK, "settings", "log-requests", layoutData(s, rec.Name, data))
		return nil
	}
	return c.renderSettings(w, r, s, rec, cl, http.StatusOK, "")
}

// renderSettings renders the whole page, with problem (what a form got wrong) by the form.
func (c *Console) renderSettings(w http.ResponseWriter, r *http.Request, s *session, rec store.Record, cl clusters.Cluster, status int, problem string) error {
	data, err := c.logsData(r, s, rec)
	if err != nil {
		return err
	}
	canWrite := s.can(service.PermWriteClusters, rec.ProjectUID)
	attached, attachable, err := c.profileChoices(r, s, rec, cl, canWrite)
	if err != nil {
		return err
	}
	var pools []poolRow
	for _, p := range cl.Pools {
		pools = append(pools, poolOf(p, cl.Status.Machines))
	}
	hasControlPlane := slices.ContainsFunc(cl.Pools, func(p clusters.Pool) bool { return p.ControlPlane })
	maps.Copy(data, map[string]any{
		"Name": rec.Name, "Cluster": cl, "Tabs": clusterTabs(rec.UID, "Settings"), "Pools": pools,
		"Profiles": attached, "Attachable": attachable, "HasControlPlane": hasControlPlane,
		"Certificates":  certificateRows(cl.Status.Certificates, c.o.Clock.Now()),
		"RepavePending": cl.Status.Repave.State == clusters.RepavePending,
		"Repaving":      cl.Status.Repave.State == clusters.RepaveApproved,
		"Done":          settingsDone[r.URL.Query().Get("done")], "DeleteProblem": problem,
		"MaxMachines": v1.MaxMachinesPerCluster,
	})
	c.render(w, status, "settings", "", layoutData(s, rec.Name+" · settings", data))
	return nil
}

// logsData is what the log bundles' part shows: the cluster's requests, newest first, and
// whether any is still being made (then the part refreshes itself).
func (c *Console) logsData(r *http.Request, s *session, rec store.Record) (map[string]any, error) {
	logs, err := c.o.Troubleshooting.LogRequests(r.Context(), &s.call, rec.UID)
	if err != nil {
		return nil, err
	}
	rows := make([]logRow, 0, len(logs))
	open := false
	for _, lf := range logs {
		row := logRow{LogFetcher: lf}
		if lf.Status.Size > 0 {
			row.Size = fmt.Sprintf("%.1f KiB", float64(lf.Status.Size)/1024)
		}
		rows = append(rows, row)
		open = open || lf.Status.State != v1.LogStateCompleted && lf.Status.State != v1.LogStateFailed
	}
	return map[string]any{"UID": rec.UID, "Logs": rows, "LogsOpen": open,
		"CanWrite": s.can(service.PermWriteClusters, rec.ProjectUID)}, nil
}

// logRow is a log request as the settings show it.
type logRow struct {
	v1.LogFetcher
	Size string
}

// profileChoices are the cluster's profiles with, for a caller who may change the cluster, the
// versions each add-on profile may be upgraded to and the add-on profiles that may be attached:
// published, for the cluster's cloud type, in its project or the tenant's, not attached already
// (one version of a profile at a time).
func (c *Console) profileChoices(r *http.Request, s *session, rec store.Record, cl clusters.Cluster, canWrite bool) ([]attachedProfile, []profileChoice, error) {
	attached := make([]attachedProfile, 0, len(cl.Profiles))
	for _, ref := range cl.Profiles {
		attached = append(attached, attachedProfile{ProfileRef: ref})
	}
	if !canWrite {
		return attached, nil, nil
	}
	published, err := c.publishedProfiles(r, clusterCall(s, rec), cl.CloudType)
	if err != nil {
		return nil, nil, err
	}
	var attachable []profileChoice
	for _, choice := range published {
		if choice.Type != v1.ProfileTypeAddOn {
			continue
		}
		i := slices.IndexFunc(attached, func(a attachedProfile) bool { return a.Name == choice.Name })
		switch {
		case i < 0:
			attachable = append(attachable, choice)
		case attached[i].UID != choice.UID && attached[i].Type == v1.ProfileTypeAddOn:
			attached[i].Upgrades = append(attached[i].Upgrades, choice)
		}
	}
	return attached, attachable, nil
}

// clusterCall is the session's call in the cluster's project, as an API client sets ProjectUid
// to act on it: the profiles it attaches are those of that project or the tenant's.
func clusterCall(s *session, rec store.Record) *service.Call {
	call := s.call
	call.Project = rec.ProjectUID
	return &call
}

// poolOf is a pool as the settings show it, with how many of its machines are ready; a
// control-plane pool cannot go below one machine.
func poolOf(p clusters.Pool, machines []clusters.Machine) poolRow {
	row := poolRow{Name: p.Name, Role: "worker", InstanceType: p.InstanceType, DiskGiB: p.DiskGiB, Size: p.Size,
		Zones: strings.Join(p.Zones, ", ")}
	for i := range machines {
		if m := &machines[i]; m.Pool == p.Name && m.Ready && !m.Deleting() {
			row.Ready++
		}
	}
	if p.ControlPlane {
		row.Role, row.MinSize = "control plane", 1
	}
	var labels, taints []string
	for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
		labels = append(labels, k+"="+p.Labels[k])
	}
	for _, t := range p.Taints {
		taint := t.Key
		if t.Value != "" {
			taint += "=" + t.Value
		}
		taints = append(taints, taint+":"+t.Effect)
	}
	row.Labels, row.Taints = strings.Join(labels, ", "), strings.Join(taints, ", ")
	return row
}

// settingsDoneAt is where a settings form sends the browser once the service has the change.
func settingsDoneAt(w http.ResponseWriter, r *http.Request, uid, done, anchor string) error {
	http.Redirect(w, r, "/clusters/"+uid+"/settings?done="+done+"#"+anchor, http.StatusSeeOther)
	return nil
}

// scalePool sets a pool's size as PUT …/machinePools/{pool} does: the body is the pool as stored
// with the new size, so that its zones, instance type, disk, labels and taints stay as they are
// (a body without them would be refused, or put the defaults in their place).
func (c *Console) scalePool(w http.ResponseWriter, r *http.Request, s *session) error {
	uid, name := r.PathValue("uid"), r.PathValue("pool")
	size, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("size")), 10, 32)
	if err != nil {
		return service.Invalid("the size of pool %s must be a whole number of machines, not %q", name, r.PostFormValue("size"))
	}
	_, cl, err := c.o.Clusters.Get(r.Context(), &s.call, clustersvc.ByUID(uid))
	if err != nil {
		return err
	}
	pool, ok := cl.Pool(name)
	if !ok {
		return service.NotFound("machine pool", name)
	}
	body := client.PoolEntity(pool.Wire())
	n := int32(size)
	body.PoolConfig.Size = &n
	// UpdatePool reads the body into a type of its own (to tell a body without cloudConfig from
	// one with), so the pool goes to it as JSON, as the API's body does.
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	input := func(into any) error { return service.DecodeJSON(b, into) }
	if err := c.o.Clusters.UpdatePool(r.Context(), &s.call, clustersvc.ByUID(uid), name, input); err != nil {
		return err
	}
	return settingsDoneAt(w, r, uid, "scaled", "pools")
}

// attachProfile attaches a published add-on profile, as PATCH …/profiles does.
func (c *Console) attachProfile(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.patchProfiles(w, r, s, v1.SpectroClusterProfileEntity{UID: r.PostFormValue("profile")}, "attached")
}

// upgradeProfile replaces an attached profile by another version of it, as PATCH …/profiles with
// replaceWithProfile does.
func (c *Console) upgradeProfile(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.patchProfiles(w, r, s, v1.SpectroClusterProfileEntity{UID: r.PostFormValue("to"), ReplaceWithProfile: r.PathValue("profile")}, "upgraded")
}

func (c *Console) patchProfiles(w http.ResponseWriter, r *http.Request, s *session, e v1.SpectroClusterProfileEntity, done string) error {
	uid := r.PathValue("uid")
	rec, _, err := c.o.Clusters.Get(r.Context(), &s.call, clustersvc.ByUID(uid))
	if err != nil {
		return err
	}
	in := v1.SpectroClusterProfiles{Profiles: []v1.SpectroClusterProfileEntity{e}}
	if err := c.o.Clusters.PatchProfiles(r.Context(), clusterCall(s, rec), clustersvc.ByUID(uid), formInput(in)); err != nil {
		return err
	}
	return settingsDoneAt(w, r, uid, done, "profiles")
}

// detachProfile detaches an add-on profile, as DELETE …/profiles does.
func (c *Console) detachProfile(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	in := v1.SpectroClusterProfilesDeleteEntity{ProfileUids: []string{r.PathValue("profile")}}
	if err := c.o.Clusters.DetachProfiles(r.Context(), &s.call, clustersvc.ByUID(uid), formInput(in)); err != nil {
		return err
	}
	return settingsDoneAt(w, r, uid, "detached", "profiles")
}

// approveRepave lets a repave waiting for approval start (PATCH …/repave/approve).
func (c *Console) approveRepave(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	if err := c.o.Clusters.ApproveRepave(r.Context(), &s.call, clustersvc.ByUID(uid)); err != nil {
		return err
	}
	return settingsDoneAt(w, r, uid, "approved", "repave")
}

// renewCertificates asks for the renewal of the control plane's certificates
// (PATCH …/k8certificates/renew).
func (c *Console) renewCertificates(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	if err := c.o.Clusters.RenewCertificates(r.Context(), &s.call, clustersvc.ByUID(uid)); err != nil {
		return err
	}
	return settingsDoneAt(w, r, uid, "renewal", "certificates")
}

// requestLogs asks for a log bundle with the defaults (POST …/features/logFetcher with an empty
// body: the last hour of the agent's namespace, v1.MaxLogLines lines of each node log).
func (c *Console) requestLogs(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	if _, err := c.o.Troubleshooting.RequestLogs(r.Context(), &s.call, uid, formInput(v1.LogFetcherRequest{})); err != nil {
		return err
	}
	return settingsDoneAt(w, r, uid, "logs", "logs")
}

// downloadLogs serves a ready bundle of the cluster as the API does (GET
// …/logFetcher/{uid}/download): the service checks the caller may change the cluster and audits
// the download, or the download goes on to the hub replica that holds the bundle.
func (c *Console) downloadLogs(w http.ResponseWriter, r *http.Request, s *session) error {
	// The request must be this cluster's: the URL names both.
	if _, err := c.o.Troubleshooting.LogStatus(r.Context(), &s.call, r.PathValue("uid"), r.PathValue("request")); err != nil {
		return err
	}
	b, err := c.o.Troubleshooting.Download(r.Context(), &s.call, r.PathValue("request"))
	return c.o.Forwarder.LogBundle(w, r, b, err)
}

// deleteCluster deletes the cluster once the form names it (DELETE /v1/spectroclusters/{uid});
// a wrong name changes nothing and the page says so.
func (c *Console) deleteCluster(w http.ResponseWriter, r *http.Request, s *session) error {
	rec, cl, err := c.o.Clusters.Get(r.Context(), &s.call, clustersvc.ByUID(r.PathValue("uid")))
	if err != nil {
		return err
	}
	if typed := r.PostFormValue("name"); typed != rec.Name {
		return c.renderSettings(w, r, s, rec, cl, http.StatusBadRequest,
			fmt.Sprintf("%q is not this cluster's name; nothing was deleted. Type %s to delete it.", typed, rec.Name))
	}
	if err := c.o.Clusters.Delete(r.Context(), &s.call, clustersvc.ByUID(rec.UID)); err != nil {
		return err
	}
	http.Redirect(w, r, "/clusters", http.StatusSeeOther)
	return nil
}

// certificateRow is one certificate of the control plane, with the authority that signed it.
type certificateRow struct {
	Authority, Name string
	Expiry          time.Time
	ExpiresIn       string
}

// certificateRows are the control plane's certificate authorities and their certificates, each
// with how long it has left.
func certificateRows(cas []v1.CertificateAuthority, now time.Time) []certificateRow {
	var rows []certificateRow
	for _, ca := range cas {
		rows = append(rows, certificateRow{Authority: ca.Name, Name: ca.Name + " (authority)", Expiry: ca.Expiry, ExpiresIn: expiresIn(ca.Expiry, now)})
		for _, cert := range ca.Certificates {
			rows = append(rows, certificateRow{Authority: ca.Name, Name: cert.Name, Expiry: cert.Expiry, ExpiresIn: expiresIn(cert.Expiry, now)})
		}
	}
	return rows
}

// expiresIn says how long until t, as a person reads it.
func expiresIn(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d <= 0:
		return "expired"
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh", int(d.Hours()))
	}
	return fmt.Sprintf("in %dd", int(d.Hours()/24))
}

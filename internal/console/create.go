package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/transport"
)

// poolField is one machine pool of the new-cluster form, as the user typed it.
type poolField struct {
	Index                    int
	Name, Size, InstanceType string
	ControlPlane             bool
	Zones                    []string
}

// HasZone reports whether the pool's zone z is ticked.
func (p poolField) HasZone(z string) bool { return slices.Contains(p.Zones, z) }

// newPool is the pool the form offers at index i: the control plane first, then workers.
func newPool(i int) poolField {
	p := poolField{Index: i, Name: "workers", Size: "1", InstanceType: clusters.DefaultInstanceType, Zones: []string{clusters.Zones[0]}}
	switch {
	case i == 0:
		p.Name, p.ControlPlane = "control-plane", true
	case i > 1:
		p.Name = fmt.Sprintf("workers-%d", i)
	}
	return p
}

// clusterForm is what the new-cluster page's two forms hold: kept as typed when the service
// refuses it, so the user corrects it rather than starting over.
type clusterForm struct {
	// YAML is the "paste YAML" form: Spec is the body of the API's create, CloudType its path's
	// (local for the form).
	YAML            bool
	Spec, CloudType string
	Name, Profile   string
	AddOns          []string
	Pools           []poolField
}

// HasAddOn reports whether the add-on profile uid is ticked.
func (f clusterForm) HasAddOn(uid string) bool { return slices.Contains(f.AddOns, uid) }

// poolCount is how many pools the form shows: at least a control plane and a worker pool, at most
// what a cluster may have (the count comes from the client).
func poolCount(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 2
	}
	return min(max(n, 2), v1.MaxPoolsPerCluster)
}

// readClusterForm reads the form from a request: a new page's defaults, or what was posted.
func readClusterForm(r *http.Request) clusterForm {
	v := r.Form
	f := clusterForm{YAML: v.Get("mode") == "yaml", Spec: v.Get("spec"), CloudType: cmp.Or(v.Get("cloudType"), v1.CloudTypeLocal),
		Name: v.Get("name"), Profile: v.Get("profile"), AddOns: v["addon"]}
	for i := range poolCount(v.Get("pools")) {
		p := newPool(i)
		if key := fmt.Sprintf("pool-%d-", i); v.Has(key + "name") {
			p.Name, p.Size, p.InstanceType, p.Zones = v.Get(key+"name"), v.Get(key+"size"), v.Get(key+"instanceType"), v[key+"zones"]
		}
		f.Pools = append(f.Pools, p)
	}
	return f
}

// entity is the form as the body of the API's create (v1.SpectroClusterEntity): the service
// validates the console's form exactly as it does the API's requests.
func (f clusterForm) entity() (v1.SpectroClusterEntity, error) {
	var e v1.SpectroClusterEntity
	e.Metadata.Name = strings.TrimSpace(f.Name)
	if f.Profile != "" {
		e.Spec.Profiles = append(e.Spec.Profiles, v1.SpectroClusterProfileEntity{UID: f.Profile})
	}
	for _, uid := range f.AddOns {
		e.Spec.Profiles = append(e.Spec.Profiles, v1.SpectroClusterProfileEntity{UID: uid})
	}
	for _, p := range f.Pools {
		size, err := strconv.ParseInt(strings.TrimSpace(p.Size), 10, 32)
		if err != nil {
			return e, service.Invalid("pool %s: size %q is not a whole number", p.Name, p.Size)
		}
		mp := v1.MachinePoolConfigEntity{CloudConfig: v1.MachinePoolCloudConfigEntity{InstanceType: p.InstanceType, Azs: p.Zones}}
		mp.PoolConfig.Name, mp.PoolConfig.Size, mp.PoolConfig.IsControlPlane = strings.TrimSpace(p.Name), new(int32(size)), p.ControlPlane
		e.Spec.Machinepoolconfig = append(e.Spec.Machinepoolconfig, mp)
	}
	return e, nil
}

// input is the form as the clusters service reads it: read only once the service has found that
// the user may create clusters, so that one who may not learns nothing from how it is judged.
func (f clusterForm) input() service.Input {
	return func(into any) error {
		var body []byte
		if f.YAML {
			var err error
			if body, err = documentJSON("the spec", f.Spec); err != nil {
				return err
			}
		} else {
			e, err := f.entity()
			if err != nil {
				return err
			}
			if body, err = json.Marshal(e); err != nil {
				return fmt.Errorf("encoding the new cluster's form: %w", err)
			}
		}
		return service.DecodeJSON(body, into)
	}
}

// documentJSON is a pasted document, JSON or YAML, as JSON; what names it in a refusal.
func documentJSON(what, text string) ([]byte, error) {
	if len(text) > v1.MaxRequestBodyBytes {
		return nil, service.TooLarge("%s is over the limit of %d bytes (MaxRequestBodyBytes)", what, v1.MaxRequestBodyBytes)
	}
	data := []byte(text)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return data, nil // JSON as it is, so that its errors name the line and column
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, service.Invalid("%s is neither JSON nor YAML: %v", what, err)
	}
	return js, nil
}

// mayCreate reports whether the user may create objects that need perm in the chosen project: a
// new object goes to the project the page shows, so the All projects view creates nothing.
func (s *session) mayCreate(perm service.Permission) bool {
	return s.call.Project != "" && s.can(perm, s.call.Project)
}

// profileChoice is a published profile a form offers.
type profileChoice struct{ UID, Name, Version, Type string }

// publishedProfiles are the published profiles the call sees that a cluster of the cloud type can
// use, by name then version.
func (c *Console) publishedProfiles(r *http.Request, call *service.Call, cloudType string) ([]profileChoice, error) {
	listed, err := c.o.Profiles.List(r.Context(), call)
	if err != nil {
		return nil, err
	}
	var out []profileChoice
	for _, l := range listed {
		if p := l.Profile; p.Published && p.SupportsCloud(cloudType) {
			out = append(out, profileChoice{UID: l.Record.UID, Name: p.Name, Version: p.Version, Type: p.Type})
		}
	}
	slices.SortFunc(out, func(a, b profileChoice) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return out, nil
}

// newCluster shows the form: ?pools= is how many pools it shows (the control plane and worker
// pools), ?mode=yaml shows the "paste YAML" form instead.
func (c *Console) newCluster(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return service.Invalid("the query: %v", err)
	}
	return c.renderNewCluster(w, r, s, http.StatusOK, readClusterForm(r), "")
}

// createCluster creates the cluster the form describes, through the clusters service's Create as
// the API's POST /v1/spectroclusters/cloudTypes/{cloudType} does, and shows its overview. A refused
// form is shown again with the service's message and the user's values; "add a worker pool" (a
// submit button, so that it works without JavaScript) shows the form with one pool more.
func (c *Console) createCluster(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return service.Invalid("the form: %v", err)
	}
	f := readClusterForm(r)
	switch r.PostFormValue("change") {
	case "add-pool":
		if n := len(f.Pools); n < v1.MaxPoolsPerCluster {
			f.Pools = append(f.Pools, newPool(n))
		}
		return c.renderNewCluster(w, r, s, http.StatusOK, f, "")
	case "remove-pool":
		if n := len(f.Pools); n > 2 {
			f.Pools = f.Pools[:n-1]
		}
		return c.renderNewCluster(w, r, s, http.StatusOK, f, "")
	}
	uid, err := c.o.Clusters.Create(r.Context(), &s.call, f.CloudType, f.input())
	if kind := service.KindOf(err); kind == service.KindInvalid || kind == service.KindConflict || kind == service.KindTooLarge {
		status, _, _ := transport.Status(kind)
		return c.renderNewCluster(w, r, s, status, f, err.Error())
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/clusters/"+url.PathEscape(uid), http.StatusSeeOther)
	return nil
}

// renderNewCluster renders the form, with the profiles of the call's project (and the tenant's)
// that a local cluster can be created from: a published cluster or infra profile, and add-ons.
func (c *Console) renderNewCluster(w http.ResponseWriter, r *http.Request, s *session, status int, f clusterForm, problem string) error {
	allowed := s.mayCreate(service.PermWriteClusters)
	var bases, addOns []profileChoice
	if allowed {
		published, err := c.publishedProfiles(r, &s.call, v1.CloudTypeLocal)
		if err != nil {
			return err
		}
		for _, p := range published {
			if p.Type == v1.ProfileTypeAddOn {
				addOns = append(addOns, p)
			} else {
				bases = append(bases, p)
			}
		}
	}
	action := "/clusters/new?project=" + url.QueryEscape(s.call.Project)
	c.render(w, status, "create", "", layoutData(s, "New cluster", map[string]any{
		"Allowed": allowed, "Form": f, "Problem": problem, "Bases": bases, "AddOns": addOns,
		"InstanceTypes": instanceTypes(), "Zones": clusters.Zones,
		"CloudTypes": clusters.SupportedCloudTypes, "MaxPools": v1.MaxPoolsPerCluster,
		"Action": action, "YAMLLink": action + "&mode=yaml", "ProfilesLink": "/profiles?project=" + url.QueryEscape(s.call.Project),
	}))
	return nil
}

// instanceChoice is a machine size the form offers.
type instanceChoice struct {
	Name string
	clusters.InstanceType
}

// instanceTypes are the local provider's machine sizes, smallest first.
func instanceTypes() []instanceChoice {
	var out []instanceChoice
	for name, t := range clusters.InstanceTypes {
		out = append(out, instanceChoice{name, t})
	}
	slices.SortFunc(out, func(a, b instanceChoice) int { return a.CPU - b.CPU })
	return out
}

package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/transport"
)

// profileRow is one profile of the list.
type profileRow struct {
	UID, Name, Version, Type, CloudType, Scope string
	Published                                  bool
	Modified                                   time.Time
}

// profiles lists the profiles of the call's project and the tenant's (every project's in the All
// projects view), by name and version, with the form that creates one for those allowed.
func (c *Console) profiles(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderProfiles(w, r, s, http.StatusOK, "", "")
}

func (c *Console) renderProfiles(w http.ResponseWriter, r *http.Request, s *session, status int, text, problem string) error {
	listed, err := c.o.Profiles.List(r.Context(), &s.call)
	if err != nil {
		return err
	}
	names := map[string]string{"": "tenant"}
	for _, p := range s.projects {
		names[p.UID] = p.Name
	}
	rows := make([]profileRow, 0, len(listed))
	for _, l := range listed {
		rows = append(rows, profileRow{UID: l.Record.UID, Name: l.Profile.Name, Version: l.Profile.Version, Type: l.Profile.Type,
			CloudType: l.Profile.CloudType, Scope: names[l.Record.ProjectUID], Published: l.Profile.Published, Modified: l.Record.UpdatedAt})
	}
	slices.SortFunc(rows, func(a, b profileRow) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Scope, b.Scope))
	})
	c.render(w, status, "profiles", "", layoutData(s, "Profiles", map[string]any{
		"Rows": rows, "Query": projectQuery(s), "Problem": problem, "Text": text,
		"CanCreate": s.mayCreate(service.PermWriteProfiles),
	}))
	return nil
}

// createProfile creates a draft profile (published at once if asked) from the pasted YAML or JSON:
// the body of the API's POST /v1/clusterprofiles, which is also what `easel profile export` writes,
// read by the profile service's Import as the API's import reads a file. A refusal shows the list
// again with the service's message and the text kept.
func (c *Console) createProfile(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return service.Invalid("the form: %v", err)
	}
	text := r.PostFormValue("profile")
	uid, err := c.o.Profiles.Import(r.Context(), &s.call, r.PostFormValue("publish") == "on", func() ([]byte, error) {
		return documentJSON("the profile", text)
	})
	if kind := service.KindOf(err); kind == service.KindInvalid || kind == service.KindConflict || kind == service.KindTooLarge {
		status, _, _ := transport.Status(kind)
		return c.renderProfiles(w, r, s, status, text, err.Error())
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, profileLink(uid, s, "created"), http.StatusSeeOther)
	return nil
}

// layerRow is one layer of a profile's page.
type layerRow struct {
	Layer, LayerName, Name, Version, Type, Values string
	Manifests                                     []string
}

// layerNames are the layers as a person reads them.
var layerNames = map[string]string{v1.PackLayerOS: "OS", v1.PackLayerK8s: "Kubernetes", v1.PackLayerCNI: "CNI",
	v1.PackLayerCSI: "CSI", v1.PackLayerAddon: "Add-on"}

// profile shows a profile: its layers in order (OS, Kubernetes, CNI, CSI, add-ons) with each
// pack's version and values, its versions and the clusters using it; Publish on a draft for those
// allowed.
func (c *Console) profile(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.o.Profiles.Describe(r.Context(), &s.call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	p := d.Profile
	layers := make([]layerRow, 0, len(p.Packs))
	for _, pk := range p.Packs {
		row := layerRow{Layer: pk.Layer, LayerName: cmp.Or(layerNames[pk.Layer], pk.Layer), Name: pk.Name, Version: pk.Version, Type: pk.Type, Values: pk.Values}
		for _, m := range pk.Manifests {
			row.Manifests = append(row.Manifests, m.Name)
		}
		layers = append(layers, row)
	}
	versions := make([]profileRow, 0, len(d.Versions))
	for _, v := range d.Versions {
		versions = append(versions, profileRow{UID: v.UID, Version: v.Version})
	}
	c.render(w, http.StatusOK, "profile", "", layoutData(s, p.Name+" "+p.Version, map[string]any{
		"UID": d.Record.UID, "Profile": p, "Layers": layers, "Versions": versions, "UsedBy": len(d.UsedBy),
		"Modified": d.Record.UpdatedAt, "Query": projectQuery(s), "Done": r.URL.Query().Get("done"),
		"CanPublish": !p.Published && s.can(service.PermWriteProfiles, d.Record.ProjectUID),
	}))
	return nil
}

// publishProfile publishes a draft as the API's PATCH /v1/clusterprofiles/{uid}/publish does.
func (c *Console) publishProfile(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	if err := c.o.Profiles.Publish(r.Context(), &s.call, uid); err != nil {
		return err
	}
	http.Redirect(w, r, profileLink(uid, s, "published"), http.StatusSeeOther)
	return nil
}

// projectQuery is the query that keeps the page's project in a link ("" in the All projects view).
func projectQuery(s *session) string {
	if s.call.Project == "" {
		return ""
	}
	return "?project=" + url.QueryEscape(s.call.Project)
}

// profileLink is a profile's page in the session's project, saying what was just done.
func profileLink(uid string, s *session, done string) string {
	v := url.Values{"done": {done}}
	if s.call.Project != "" {
		v.Set("project", s.call.Project)
	}
	return "/profiles/" + url.PathEscape(uid) + "?" + v.Encode()
}

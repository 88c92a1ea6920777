package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
)

// A cluster's profiles on a running cluster: attaching, detaching, replacing (a new version) or
// changing values is a new spec generation. The agent applies the packs in place and prunes what
// detached packs left; an OS or Kubernetes layer change is a repave (the engine's, with reasons).

func (s *Server) getClusterProfiles(w http.ResponseWriter, r *http.Request, c *call) error {
	_, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	out := v1.SpectroClusterProfileList{Profiles: []v1.SpectroClusterProfile{}}
	for _, ref := range cl.Profiles {
		attached, err := s.clusters.AttachedProfile(r.Context(), ref)
		if err != nil {
			return err
		}
		rec, p, packs := attached.Record, attached.Profile, attached.Packs
		var sp v1.SpectroClusterProfile
		sp.Metadata = meta(rec)
		sp.Spec.CloudType, sp.Spec.Type, sp.Spec.Version, sp.Spec.ProfileVersion = p.CloudType, p.Type, 1, p.Version
		sp.Spec.Packs = []v1.ClusterProfilePack{}
		for _, pk := range packs {
			sp.Spec.Packs = append(sp.Spec.Packs, v1.ClusterProfilePack{Metadata: v1.ObjectMeta{UID: pk.PackUID, Name: pk.Name}, Spec: pk})
		}
		out.Profiles = append(out.Profiles, sp)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putClusterProfiles sets the cluster's whole list of profiles.
func (s *Server) putClusterProfiles(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.PutProfiles(r.Context(), &c.Call, target(r), body(r)))
}

// patchClusterProfiles attaches, replaces or changes the values of the profiles it names.
func (s *Server) patchClusterProfiles(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.PatchProfiles(r.Context(), &c.Call, target(r), body(r)))
}

// deleteClusterProfiles detaches add-on profiles.
func (s *Server) deleteClusterProfiles(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.DetachProfiles(r.Context(), &c.Call, target(r), body(r)))
}

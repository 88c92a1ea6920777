package hub

import (
	"net/http"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
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
		rec, p, packs, err := s.attachedProfile(r.Context(), ref)
		if err != nil {
			return err
		}
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
	var in v1.SpectroClusterProfiles
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.changeProfiles(w, r, c, func(cl *clusters.Cluster) ([]v1.SpectroClusterProfileEntity, error) {
		for i, e := range in.Profiles {
			if e.ReplaceWithProfile != "" {
				return nil, service.Invalid("profiles[%d].replaceWithProfile is for PATCH; PUT gives the whole list", i)
			}
		}
		return in.Profiles, nil
	})
}

// patchClusterProfiles attaches, replaces or changes the values of the profiles it names.
func (s *Server) patchClusterProfiles(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.SpectroClusterProfiles
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Profiles) == 0 {
		return service.Invalid("profiles: name at least one profile to attach or change")
	}
	return s.changeProfiles(w, r, c, func(cl *clusters.Cluster) ([]v1.SpectroClusterProfileEntity, error) {
		return clusters.PatchProfiles(cl.Profiles, in.Profiles)
	})
}

// deleteClusterProfiles detaches add-on profiles.
func (s *Server) deleteClusterProfiles(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.SpectroClusterProfilesDeleteEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.changeProfiles(w, r, c, func(cl *clusters.Cluster) ([]v1.SpectroClusterProfileEntity, error) {
		return clusters.DetachProfiles(cl.Profiles, in.ProfileUids)
	})
}

// changeProfiles puts the list next returns in place of the cluster's profiles, once checked, and
// answers 204; a list that changes nothing writes nothing.
func (s *Server) changeProfiles(w http.ResponseWriter, r *http.Request, c *call, next func(cl *clusters.Cluster) ([]v1.SpectroClusterProfileEntity, error)) error {
	err := s.changeCluster(r, c, clusterRecordIn, "ProfilesChanged", func(q store.Queries, cl *clusters.Cluster) (string, error) {
		if cl.Status.State != v1.ClusterStateRunning {
			return "", service.Conflict("the cluster is %s; its profiles can change once it is Running", cl.Status.State)
		}
		in, err := next(cl)
		if err != nil {
			return "", err
		}
		changes, err := cl.SetProfiles(in, s.profileResolver(r.Context(), q, c), s.catalog)
		if err != nil || len(changes) == 0 {
			return "", err
		}
		msg := "Profiles changed: " + strings.Join(changes, "; ")
		if reasons := cl.RepaveReasons(); len(reasons) > 0 {
			msg += " (the machines are repaved: " + strings.Join(reasons, "; ") + ")"
		}
		return msg, nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

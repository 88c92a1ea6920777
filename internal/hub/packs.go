package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/service"
)

func (s *Server) listPacks(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := packs.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return service.Invalid("%v", err)
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	all := s.catalog.Search(f)
	page := all[min(pg.offset, len(all)):min(pg.offset+pg.limit, len(all))]
	out := packs.Summaries(page)
	lm := pg.listMeta(len(page), len(all))
	out.Listmeta = &lm
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) searchPacks(w http.ResponseWriter, r *http.Request, c *call) error {
	var spec v1.PacksFilterSpec
	if r.ContentLength != 0 {
		if err := decode(r, &spec); err != nil {
			return err
		}
	}
	if err := packs.FilterFromSpec(spec.Filter).Check(); err != nil {
		return service.Invalid("%v", err)
	}
	writeJSON(w, http.StatusOK, s.catalog.SearchSpec(spec))
	return nil
}

func (s *Server) getPack(w http.ResponseWriter, r *http.Request, c *call) error {
	uid := r.PathValue("uid")
	out, ok := s.catalog.TagEntity(uid)
	if !ok {
		return service.NotFound("pack", uid)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, v1.PackRegistries{Items: []v1.PackRegistry{packs.Registry()}, Listmeta: &v1.ListMeta{Count: 1}})
	return nil
}

func (s *Server) getPackByName(w http.ResponseWriter, r *http.Request, c *call) error {
	name, registry := r.PathValue("packName"), r.PathValue("registryUid")
	out, ok := s.catalog.NamedTagEntity(name)
	if !ok || registry != packs.RegistryUID {
		return service.NotFound("pack", name+" in registry "+registry)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) registriesSummary(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, v1.PackRegistriesSummary{Items: []v1.PackRegistrySummary{packs.RegistrySummary()}, Listmeta: &v1.ListMeta{Count: 1}})
	return nil
}

func (s *Server) registriesMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, v1.RegistriesMetadata{Items: []v1.RegistryMetadata{packs.RegistryMetadata()}})
	return nil
}

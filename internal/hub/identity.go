package hub

import (
	"net/http"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/transport"
)

func (s *Server) authenticateHandler(w http.ResponseWriter, r *http.Request) error {
	var in v1.AuthLogin
	if err := decode(r, &in); err != nil {
		return err
	}
	token, err := s.identity.Login(r.Context(), in, transport.ClientAddress(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.UserToken{Authorization: token})
	return nil
}

// revokeTokens is Palette's POST /v1/users/auth/tokens/revoke: the login sessions whose tokens are
// named end at once.
func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	var in struct {
		Tokens []string `json:"tokens"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	return noContent(w, s.identity.RevokeSessions(r.Context(), &c.Call, in.Tokens))
}

// logout ends the login session the request is made with (DELETE /v1/auth/session).
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Header.Get("ApiKey") != "" || token == "" {
		return service.Invalid("logging out ends a login session, and this request was made with an API key; to revoke the key, DELETE /v1/apiKeys/{uid}")
	}
	return noContent(w, s.identity.RevokeSessions(r.Context(), &c.Call, []string{token}))
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, v1.UserInfo{OrgName: "easel", TenantUID: c.TenantUID, UserUID: c.UserUID})
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	users, total, err := s.identity.ListUsers(r.Context(), &c.Call, pg.limit, pg.offset)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.Users{Items: users, Listmeta: pg.listMeta(len(users), total)})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	uid, err := s.identity.CreateUser(r.Context(), &c.Call, body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.identity.GetUser(r.Context(), &c.Call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.identity.DeleteUser(r.Context(), &c.Call, r.PathValue("uid")))
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	key, uid, err := s.identity.CreateAPIKey(r.Context(), &c.Call, body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.APIKeyCreateResponse{APIKey: key, UID: uid})
	return nil
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	keys, err := s.identity.ListAPIKeys(r.Context(), &c.Call)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.APIKeys{Items: keys})
	return nil
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	key, err := s.identity.GetAPIKey(r.Context(), &c.Call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, key)
	return nil
}

func (s *Server) updateAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.identity.UpdateAPIKey(r.Context(), &c.Call, r.PathValue("uid"), body(r)))
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.identity.DeleteAPIKey(r.Context(), &c.Call, r.PathValue("uid")))
}

// meta is the metadata of a stored object.
func meta(rec store.Record) v1.ObjectMeta {
	return v1.ObjectMeta{UID: rec.UID, Name: rec.Name, CreationTimestamp: rec.CreatedAt, LastModifiedTimestamp: rec.UpdatedAt}
}

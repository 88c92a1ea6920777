package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/service/identity"
	"github.com/easelhq/easel/internal/transport"
)

// Cookies the console sets.
const (
	// SessionCookie holds the login token, as the API's POST /v1/auth/authenticate gives it.
	SessionCookie = "easel_session"
	// loginCookie holds the login form's CSRF token until there is a session.
	loginCookie = "easel_login"
	// sessionLifetime is how long the session cookie lives: a login token's lifetime.
	sessionLifetime = 24 * time.Hour
)

// session is a signed-in request: who, in which project, and its CSRF token.
type session struct {
	call service.Call
	// token is the login token; csrf is derived from it.
	token, csrf string
	// projects the caller sees, for the switcher, and the current one's name.
	projects    []projectRef
	projectName string
}

type projectRef struct{ UID, Name string }

// can reports whether the signed-in user holds perm in the project: pages show a write control
// only to those the service would let use it (and the service refuses a forged write anyway).
func (s *session) can(perm service.Permission, projectUID string) bool {
	return s.call.Caller.Can(projectUID, perm)
}

// auditor reports whether the user may read some of the audit trail: a tenant admin, or a project
// admin.
func (s *session) auditor() bool {
	if s.call.TenantAdmin {
		return true
	}
	for _, p := range s.projects {
		if s.can(service.PermProjectAdmin, p.UID) {
			return true
		}
	}
	return false
}

// csrfOf is the CSRF token of a session: SHA-256 of the session token, which another site cannot
// read (the cookie is HttpOnly), so it cannot make the value; every hub replica checks it alike.
func csrfOf(token string) string {
	sum := sha256.Sum256([]byte("easel-csrf:" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// page serves a page to a signed-in user: without a valid session it redirects to /login (and
// back afterwards); a write (any method but GET) needs the session's CSRF token. A service's
// refusal is rendered as an error page with its status.
func (c *Console) page(h func(w http.ResponseWriter, r *http.Request, s *session) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			if service.KindOf(err) != service.KindUnauthorized {
				c.fail(w, r, nil, err)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// The hub limits every body (MaxRequestBodyBytes): a form beyond it is refused as too
			// large, not mistaken for one without its CSRF token.
			var tooLarge *http.MaxBytesError
			if err := r.ParseForm(); errors.As(err, &tooLarge) {
				c.fail(w, r, s, service.TooLarge("the form is larger than the hub accepts (%d bytes, MaxRequestBodyBytes)", tooLarge.Limit))
				return
			}
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				c.fail(w, r, s, service.Forbidden("this form has expired or did not come from this console; reload the page and try again"))
				return
			}
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	}
}

// session authenticates the request's session cookie and resolves its project (?project=, which
// must be one the caller sees; none is every project the caller sees).
func (c *Console) session(r *http.Request) (*session, error) {
	cookie, err := r.Cookie(SessionCookie)
	if err != nil || cookie.Value == "" {
		return nil, service.Unauthorized("not signed in")
	}
	caller, err := c.o.Identity.Authenticate(r.Context(), identity.Credentials{Bearer: cookie.Value})
	if err != nil {
		return nil, err
	}
	if caller.ActorType != "user" {
		return nil, service.Unauthorized("an agent token cannot sign in to the console")
	}
	s := &session{call: service.Call{Caller: caller}, token: cookie.Value, csrf: csrfOf(cookie.Value)}
	recs, err := c.o.Projects.List(r.Context(), &s.call)
	if err != nil {
		return nil, err
	}
	want := r.URL.Query().Get("project")
	for _, rec := range recs {
		s.projects = append(s.projects, projectRef{UID: rec.UID, Name: rec.Name})
		if rec.UID == want {
			s.call.Project, s.projectName = rec.UID, rec.Name
		}
	}
	if want != "" && s.call.Project == "" {
		return nil, service.NotFound("project", want)
	}
	return s, nil
}

// loginPage shows the login form, with a CSRF token of its own in a cookie and in the form.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	token := make([]byte, 24)
	rand.Read(token)
	value := base64.RawURLEncoding.EncodeToString(token)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: value, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.o.Secure, MaxAge: 3600})
	c.render(w, status, "login", "", map[string]any{"CSRF": value, "Next": safeNext(r.FormValue("next")),
		"Problem": problem, "Email": r.PostFormValue("email")})
}

// login signs in with the API's own authentication (its throttle and its audit entries) and sets
// the session cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	cookie, err := r.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.renderLogin(w, r, http.StatusForbidden, "This form has expired; try again.")
		return
	}
	token, err := c.o.Identity.Login(r.Context(), v1.AuthLogin{EmailID: r.PostFormValue("email"), Password: r.PostFormValue("password")},
		transport.ClientAddress(r))
	if err != nil {
		var refused *service.Error
		if !errors.As(err, &refused) {
			c.o.Logger.Error("Signing in failed", "err", err)
			c.renderLogin(w, r, http.StatusInternalServerError, "Signing in failed; the hub's log has the details.")
			return
		}
		if refused.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(refused.RetryAfter.Seconds())))
		}
		status, _, _ := transport.Status(refused.Kind)
		c.renderLogin(w, r, status, loginProblem(refused))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.o.Secure, MaxAge: int(sessionLifetime.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// loginProblem is what the login form says of a refusal: never which of email and password was
// wrong.
func loginProblem(err *service.Error) string {
	switch err.Kind {
	case service.KindUnauthorized:
		return "The email or the password is wrong."
	case service.KindTooManyRequests, service.KindInvalid:
		return err.Message
	}
	return "Signing in was refused: " + err.Message
}

// safeNext is where to go after signing in: a path of this console, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/clusters"
	}
	return next
}

// logout ends the session: its token is revoked, as DELETE /v1/auth/session does.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.o.Identity.RevokeSessions(r.Context(), &s.call, []string{s.token}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.o.Secure})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// fail renders an error page with the refusal's status (500 for a failure, logged).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, message := c.refusal(r, err)
	c.render(w, status, "error", "", layoutData(s, "Error", map[string]any{"Status": status, "Message": message}))
}

// refusal is the status and the message a person is shown for err: a service's refusal as it
// is, anything else as a failure (500), logged unless the client went away (a browser that
// navigates elsewhere mid-request) and nobody reads the answer.
func (c *Console) refusal(r *http.Request, err error) (status int, message string) {
	status, _, known := transport.Status(service.KindOf(err))
	if !known {
		if r.Context().Err() == nil {
			c.o.Logger.Error("Console page failed", "path", r.URL.Path, "err", err)
		}
		return http.StatusInternalServerError, "Something went wrong; the hub's log has the details."
	}
	return status, err.Error()
}

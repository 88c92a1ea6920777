package hub

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

// MaxBodyBytes is the largest request body the hub reads.
const MaxBodyBytes = v1.MaxRequestBodyBytes

// decode reads a JSON body into v. Unknown fields are ignored; malformed JSON is a 400 that names
// the line and column.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err // a MaxBytesError becomes 413
	}
	return service.DecodeJSON(body, v)
}

// body is the request's JSON body as a service reads its input.
func body(r *http.Request) service.Input { return func(v any) error { return decode(r, v) } }

// page is the paging of a list request: limit/offset, or the continue token of a previous page.
type page struct {
	limit, offset int
}

const defaultLimit = 50

// parsePage reads limit, offset and continue. A limit over v1.MaxListLimit or an offset over
// v1.MaxListOffset is refused rather than clamped, so that a client learns the bound instead of
// getting less than it asked for.
func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil && !isRange(err) || n < 0:
			return p, service.Invalid("limit %q must be a non-negative number", s)
		case err != nil || n > v1.MaxListLimit:
			return p, service.Invalid("limit %s is over the limit of %d (MaxListLimit)", s, v1.MaxListLimit)
		case n > 0:
			p.limit = n
		}
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil && !isRange(err) || n < 0:
			return p, service.Invalid("offset %q must be a non-negative number", s)
		case err != nil || n > v1.MaxListOffset:
			return p, service.Invalid("offset %s is over the limit of %d (MaxListOffset)", s, v1.MaxListOffset)
		}
		p.offset = n
	}
	if s := q.Get("continue"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 || n > v1.MaxListOffset {
			return p, service.Invalid("continue token %q is not one this hub issued", s)
		}
		p.offset = n
	}
	return p, nil
}

// isRange says whether a number failed to parse only for being too large (or too small).
func isRange(err error) bool { return errors.Is(err, strconv.ErrRange) }

// listMeta describes the page just served; Continue is empty on the last page.
func (p page) listMeta(returned, total int) v1.ListMeta {
	m := v1.ListMeta{Count: int64(total), Limit: int64(p.limit), Offset: int64(p.offset)}
	if next := p.offset + returned; returned > 0 && next < total {
		m.Continue = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(next)))
	}
	return m
}

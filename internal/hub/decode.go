package hub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	v1 "github.com/easelhq/easel/api/v1"
)

// MaxBodyBytes is the largest request body the hub reads.
const MaxBodyBytes = 4 << 20

// decode reads a JSON body into v. Unknown fields are ignored; malformed JSON is a 400 that names
// the line and column.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err // a MaxBytesError becomes 413
	}
	return decodeBody(body, v)
}

// decodeBody is decode of a body already read (for handlers that keep the body, or accept none).
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("request body is empty; expected JSON")
	}
	err := json.Unmarshal(body, v)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		line, col := position(body, syntaxErr.Offset)
		return errBadRequest("malformed JSON at line %d, column %d: %v", line, col, syntaxErr)
	case errors.As(err, &typeErr):
		line, col := position(body, typeErr.Offset)
		return errBadRequest("JSON field %q at line %d, column %d: expected %s, got %s", typeErr.Field, line, col, typeErr.Type, typeErr.Value)
	case err != nil:
		return errBadRequest("malformed JSON: %v", err)
	}
	return nil
}

func position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	before := body[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// page is the paging of a list request: limit/offset, or the continue token of a previous page.
type page struct {
	limit, offset int
}

const (
	defaultLimit = 50
	maxLimit     = 1000
)

func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, errBadRequest("limit %q must be a non-negative number", s)
		}
		if n > 0 {
			p.limit = min(n, maxLimit)
		}
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, errBadRequest("offset %q must be a non-negative number", s)
		}
		p.offset = n
	}
	if s := q.Get("continue"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 {
			return p, errBadRequest("continue token %q is not one this hub issued", s)
		}
		p.offset = n
	}
	return p, nil
}

// listMeta describes the page just served; Continue is empty on the last page.
func (p page) listMeta(returned, total int) v1.ListMeta {
	m := v1.ListMeta{Count: int64(total), Limit: int64(p.limit), Offset: int64(p.offset)}
	if next := p.offset + returned; returned > 0 && next < total {
		m.Continue = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(next)))
	}
	return m
}

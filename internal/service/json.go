package service

import (
	"bytes"
	"encoding/json"
	"errors"
)

// DecodeJSON reads a JSON document into v. Unknown fields are ignored; malformed JSON is Invalid,
// naming the line and column.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Invalid("request body is empty; expected JSON")
	}
	err := json.Unmarshal(body, v)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		line, col := position(body, syntaxErr.Offset)
		return Invalid("malformed JSON at line %d, column %d: %v", line, col, syntaxErr)
	case errors.As(err, &typeErr):
		line, col := position(body, typeErr.Offset)
		return Invalid("JSON field %q at line %d, column %d: expected %s, got %s", typeErr.Field, line, col, typeErr.Type, typeErr.Value)
	case err != nil:
		return Invalid("malformed JSON: %v", err)
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

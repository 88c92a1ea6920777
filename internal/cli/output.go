package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// Output formats of -o.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
)

// CheckFormat refuses an -o value the CLI cannot print.
func CheckFormat(f string) error {
	switch f {
	case "", FormatTable, FormatJSON, FormatYAML:
		return nil
	}
	return fmt.Errorf("output format %q must be table, json or yaml", f)
}

// Print writes obj as JSON or YAML (the API objects, as the hub sent them), or calls table.
func Print(w io.Writer, format string, obj any, table func(w io.Writer) error) error {
	switch format {
	case FormatJSON:
		b, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case FormatYAML:
		b, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	case "", FormatTable:
		return table(w)
	}
	return CheckFormat(format)
}

// Table writes aligned columns. Empty cells show as "-", so that every row has as many fields
// as the header when split on whitespace.
type Table struct {
	tw *tabwriter.Writer
}

// NewTable starts a table with its header row.
func NewTable(w io.Writer, header ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)}
	t.Row(header...)
	return t
}

// Row adds one row.
func (t *Table) Row(cells ...string) {
	out := make([]string, len(cells))
	for i, c := range cells {
		// A tab or newline inside a cell would break the columns.
		c = cellCleaner.Replace(c)
		if c == "" {
			c = "-"
		}
		out[i] = c
	}
	fmt.Fprintln(t.tw, strings.Join(out, "\t"))
}

var cellCleaner = strings.NewReplacer("\t", " ", "\r", " ", "\n", " ")

// Flush writes the table out.
func (t *Table) Flush() error { return t.tw.Flush() }

// Fields writes "Label:  value" lines aligned on the values, for the detail views of get.
func Fields(w io.Writer, pairs ...string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], v)
	}
	return tw.Flush()
}

// Age is how long ago t was, in the style of kubectl: 45s, 12m, 5h, 3d, 2y. The zero time is "-".
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	case d < 2*365*24*time.Hour:
		return strconv.Itoa(int(d.Hours()/24)) + "d"
	}
	return strconv.Itoa(int(d.Hours()/24/365)) + "y"
}

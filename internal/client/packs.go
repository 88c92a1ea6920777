package client

import (
	"context"
	"net/http"
	"net/url"

	v1 "github.com/easelhq/easel/api/v1"
)

// ListPacks returns every pack version of the catalog matching filters (Palette's filter string,
// e.g. "spec.layer=addon AND spec.cloudTypes_in_local,all"; "" for all), following listmeta.continue.
func (c *Client) ListPacks(ctx context.Context, filters string) ([]v1.PackSummary, error) {
	items := []v1.PackSummary{}
	token := ""
	for range maxPages {
		q := url.Values{}
		if filters != "" {
			q.Set("filters", filters)
		}
		if token != "" {
			q.Set("continue", token)
		}
		var page v1.PackSummaries
		if err := c.do(ctx, http.MethodGet, "/v1/packs", q, nil, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if page.Listmeta == nil || page.Listmeta.Continue == "" || page.Listmeta.Continue == token {
			return items, nil
		}
		token = page.Listmeta.Continue
	}
	return items, nil
}

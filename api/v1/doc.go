// Package v1 holds the wire types of easel's /v1 API. Paths, field names and JSON shapes follow the
// Palette v1 API as its public Go SDK (github.com/spectrocloud/palette-sdk-go) speaks it, so that
// existing Palette clients work against easel unchanged. Fields easel does not act on are accepted
// and ignored.
package v1

// Package assets holds the console's third-party JavaScript and CSS, vendored from the npm
// registry by hack/console-assets.sh and committed, so that a build never needs the network
// and no page ever loads a script from elsewhere.
//
// Vendor's root is the directory "vendor": htmx.min.js (htmx), uPlot.iife.min.js and
// uPlot.min.css (uPlot), each package's licence as <package>-LICENSE, and VERSIONS, which
// names each file's package, version, tarball integrity and sha256. Upgrade by editing the
// pins in the script and running it; never edit these files by hand (TestVendoredAssets
// compares them with VERSIONS).
package assets

import "embed"

// Vendor is the vendored files, under the directory "vendor".
//
//go:embed vendor
var Vendor embed.FS

#!/usr/bin/env bash
# Vendors the web console's third-party assets (docs/design/006-console.md, Stack).
#
#   hack/console-assets.sh     fetch the pinned packages from the npm registry and rewrite
#                              internal/console/assets/vendor/ from them
#
# Run it by hand to upgrade, then commit the result: the build and the tests never touch the
# network, they embed the committed files. To upgrade a package, change its version and its
# integrity below (the registry publishes it: `npm view <pkg>@<version> dist.integrity`); the
# integrity is pinned here rather than fetched at run time, so a tarball swapped on the
# registry is refused instead of trusted.
#
# The directory is written whole on every run (a file no longer listed disappears), and
# vendor/VERSIONS lists, for each vendored file, its package, version, the tarball's integrity
# and the file's sha256; TestVendoredAssets (internal/console/assets) checks the committed
# files against it, so a hand edit fails the tests. Running the script twice gives the same
# files.
#
# The files sit flat in vendor/: Go module zips drop files in subdirectories of a directory
# named vendor, so a nested path would be missing from `go install ...@version` builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "console-assets.sh: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

registry=https://registry.npmjs.org
dest=internal/console/assets/vendor

# One line per package: name, version, the tarball's published integrity, then the files to
# vendor from its dist/ directory. Each package's LICENSE is vendored as <name>-LICENSE.
packages=(
	"htmx.org 2.0.11 sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA== htmx.min.js"
	"uplot 1.6.32 sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw== uPlot.iife.min.js uPlot.min.css"
)

for tool in curl tar openssl sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

# Everything is built in a staging directory beside the destination and swapped in only when
# every package has been fetched and verified: a failed run leaves the committed files alone.
mkdir -p "$(dirname "$dest")"
stage=$(mktemp -d "$(dirname "$dest")/.vendor.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/out"

versions=$stage/out/VERSIONS
{
	echo "# Written by hack/console-assets.sh; do not edit the files of this directory by hand."
	printf '# %s\t%s\t%s\t%s\t%s\n' package version integrity sha256 file
} >"$versions"

for entry in "${packages[@]}"; do
	read -r name version integrity files <<<"$entry"
	read -r -a files <<<"$files"
	tarball=$stage/$name-$version.tgz
	url=$registry/$name/-/$name-$version.tgz

	log "fetching $url"
	curl -fsSL --retry 3 -o "$tarball" "$url" || die "downloading $url failed"

	got=sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)
	[[ $got == "$integrity" ]] ||
		die "$name $version: tarball integrity is $got, the pinned value is $integrity; refusing it"

	unpack=$stage/$name
	mkdir "$unpack"
	members=(package/LICENSE)
	for f in "${files[@]}"; do
		members+=("package/dist/$f")
	done
	tar -xzf "$tarball" -C "$unpack" "${members[@]}" ||
		die "$name $version: the tarball lacks one of: ${members[*]}"

	cp "$unpack/package/LICENSE" "$stage/out/$name-LICENSE"
	vendored=("$name-LICENSE")
	for f in "${files[@]}"; do
		cp "$unpack/package/dist/$f" "$stage/out/$f"
		vendored+=("$f")
	done
	for f in "${vendored[@]}"; do
		sum=$(sha256sum "$stage/out/$f" | cut -d' ' -f1)
		printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$version" "$integrity" "$sum" "$f" >>"$versions"
	done
	log "$name $version: vendored ${vendored[*]}"
done

chmod 0644 "$stage/out"/*
chmod 0755 "$stage/out"
rm -rf "$dest"
mv "$stage/out" "$dest"
log "wrote $dest"

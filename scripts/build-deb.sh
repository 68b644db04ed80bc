#!/usr/bin/env bash
# Builds a Debian package of Paceline from this checkout: OUTDIR/paceline_VERSION_ARCH.deb.
#
#   scripts/build-deb.sh [OUTDIR]          (default OUTDIR: build/)
#
# It holds the built workspace under /usr/lib/paceline (each package's package.json and the files
# it publishes, with its production dependencies from package-lock.json, native addons built for
# this machine: hence an architecture-specific package), /usr/bin/paceline, the systemd unit,
# /etc/default/paceline, /etc/paceline/cluster.yaml.example and the docs; maintainer scripts from
# packaging/debian (postinst creates /etc/paceline/authkey only if it is missing). Needs node, npm
# (the npm registry or its cache) and dpkg-deb. Run `npm run build` first, or pass BUILD=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/build}" && cd "${1:-$root/build}" && pwd)
[ "${BUILD:-0}" = 1 ] && (cd "$root" && npm run build >/dev/null)
[ -f "$root/packages/cli/dist/main.js" ] || { echo "build-deb: packages/cli/dist is missing: run npm run build first" >&2; exit 1; }
version=$(node -p "require('$root/packages/cli/package.json').version")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/pkg
lib=$pkg/usr/lib/paceline
mkdir -p "$lib" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/default" "$pkg/etc/paceline" "$pkg/usr/share/doc/paceline" "$pkg/DEBIAN"

# The workspace: the root manifest (workspaces and the one zod the packages share as a peer
# dependency; no dev tools), the lock file, and every package's manifest plus the files it
# publishes (its "files" list).
node -e '
  const fs = require("fs"), path = require("path");
  const [root, lib] = process.argv.slice(1);
  const top = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  fs.writeFileSync(path.join(lib, "package.json"), JSON.stringify({ name: top.name, version: top.version, private: true, type: top.type, license: top.license, engines: top.engines, dependencies: top.dependencies, workspaces: top.workspaces }, null, 2) + "\n");
  fs.copyFileSync(path.join(root, "package-lock.json"), path.join(lib, "package-lock.json"));
  for (const ws of ["packages", "agents"]) {
    for (const name of fs.readdirSync(path.join(root, ws))) {
      const dir = path.join(root, ws, name), manifest = path.join(dir, "package.json");
      if (!fs.existsSync(manifest)) continue;
      const p = JSON.parse(fs.readFileSync(manifest, "utf8"));
      const to = path.join(lib, ws, name);
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(manifest, path.join(to, "package.json"));
      for (const f of p.files ?? []) if (fs.existsSync(path.join(dir, f))) fs.cpSync(path.join(dir, f), path.join(to, f), { recursive: true, filter: (s) => !s.endsWith(".tsbuildinfo") });
    }
  }
' "$root" "$lib"
(cd "$lib" && npm ci --omit=dev --no-audit --no-fund --prefer-offline >/dev/null 2>"$stage/npm.log") || { cat "$stage/npm.log" >&2; exit 1; }
# Build leftovers of native addons and tests shipped inside dependencies are not needed at run time.
find "$lib/node_modules" -type d \( -name obj.target -o -name .deps \) -prune -exec rm -rf {} + 2>/dev/null || true
chmod 755 "$lib/packages/cli/dist/main.js"
ln -s ../lib/paceline/packages/cli/dist/main.js "$pkg/usr/bin/paceline"

install -m 0644 "$root/packaging/systemd/paceline.service" "$pkg/lib/systemd/system/paceline.service"
install -m 0644 "$root/packaging/debian/default" "$pkg/etc/default/paceline"
install -m 0600 "$root/packaging/debian/cluster.yaml.example" "$pkg/etc/paceline/cluster.yaml.example"
chmod 0700 "$pkg/etc/paceline"
for d in README.md docs/operations.md docs/daemon.md docs/cli.md docs/membership.md; do install -m 0644 "$root/$d" "$pkg/usr/share/doc/paceline/"; done
[ -d "$root/docs/img" ] && cp -r "$root/docs/img" "$pkg/usr/share/doc/paceline/img"
printf 'Paceline\nLicense: MIT\n' > "$pkg/usr/share/doc/paceline/copyright"

size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$root/packaging/debian/control.in" > "$pkg/DEBIAN/control"
install -m 0644 "$root/packaging/debian/conffiles" "$pkg/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$root/packaging/debian/$s" "$pkg/DEBIAN/$s"; done

deb=$out/paceline_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"

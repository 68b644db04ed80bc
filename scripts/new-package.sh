#!/usr/bin/env bash
# Creates an empty workspace package: scripts/new-package.sh packages/NAME "one-line description" [dep-package ...]
# The package gets package.json (ESM, exports through dist), tsconfig.json (project references to its
# @paceline dependencies), src/index.ts and test/. Add it to the root tsconfig.json references yourself.
set -euo pipefail
dir=$1; desc=$2; shift 2
name=$(basename "$dir")
case "$dir" in agents/*) pkg="@paceline/agent-$name";; *) pkg="@paceline/$name";; esac
mkdir -p "$dir/src" "$dir/test"
deps=""; refs=""
for d in "$@"; do
  case "$d" in agent-api) ddir="packages/agent-api";; agent-*) ddir="agents/${d#agent-}";; *) ddir="packages/$d";; esac
  deps="$deps\"@paceline/$d\": \"*\","
  refs="$refs{ \"path\": \"../../$ddir\" },"
done
deps=${deps%,}; refs=${refs%,}
cat > "$dir/package.json" <<JSON
{
  "name": "$pkg",
  "version": "0.1.0",
  "description": "$desc",
  "type": "module",
  "license": "MIT",
  "exports": { ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" } },
  "files": ["dist"],
  "dependencies": { $deps }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "references": [ $refs ]
}
JSON
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"

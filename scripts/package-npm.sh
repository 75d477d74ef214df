#!/usr/bin/env bash
# Builds the npm packages: the main package `ccrescue` (a Node launcher, npm/ccrescue/) and one
# package per platform holding the native binary (the table is npm/ccrescue/platforms.json). All
# carry the version in Cargo.toml. Writes the tarballs into target/npm/ and prints their paths, one
# per line, the main package first (progress goes to stderr).
#
#   scripts/package-npm.sh                  # builds this machine's binary (release; static musl on Linux)
#   scripts/package-npm.sh --prebuilt DIR   # packs DIR/<rust target>/ccrescue[.exe] for every target
#                                           # found there, builds nothing (the release workflow)
#
# Needs cargo (rustup adds a missing target) and node/npm. No package has an install script: npm
# picks the platform package by its os/cpu/libc fields.
set -euo pipefail
prebuilt=
case "${1:-}" in
  --prebuilt) prebuilt=$(cd "${2:?--prebuilt needs a folder}" && pwd) ;; # from the caller's folder
  "") ;;
  *) echo "usage: scripts/package-npm.sh [--prebuilt DIR]" >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
say() { echo "package-npm: $*" >&2; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || { say "no version in Cargo.toml"; exit 1; }
out=$root/target/npm
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage"
rm -f "$out"/*.tgz

# The platform entries (one JSON object a line) to pack.
platforms() { node -e 'for (const p of require(process.argv[1]).platforms) console.log(JSON.stringify(p))' "$root/npm/ccrescue/platforms.json"; }
field() { node -e 'const v = JSON.parse(process.argv[1])[process.argv[2]]; console.log(v === undefined ? "" : v)' "$1" "$2"; }

declare -A binaries=()
if [ -n "$prebuilt" ]; then
  while read -r p; do
    target=$(field "$p" target)
    bin=$prebuilt/$target/$(field "$p" binary)
    [ -f "$bin" ] && binaries[$target]=$bin
  done < <(platforms)
  [ ${#binaries[@]} -gt 0 ] || { say "no binaries under $prebuilt/<target>/"; exit 1; }
else
  host=$(node -p 'process.platform + " " + process.arch')
  target=$(node -e '
    const [os, cpu] = process.argv[2].split(" ");
    const p = require(process.argv[1]).platforms.find((p) => p.os === os && p.cpu === cpu);
    if (p) console.log(p.target);' "$root/npm/ccrescue/platforms.json" "$host")
  [ -n "$target" ] || { say "no npm platform package for $host (see npm/ccrescue/platforms.json)"; exit 1; }
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    say "rustup target add $target"
    rustup target add "$target" >&2
  fi
  say "cargo build --release --locked --target $target"
  if ! cargo build --release --locked --target "$target" --bin ccrescue >&2; then
    case $target in
      *-linux-musl) say "the musl build failed; on Debian/Ubuntu, apt-get install musl-tools gives it a C toolchain" ;;
    esac
    exit 1
  fi
  exe=ccrescue
  case $target in *windows*) exe=ccrescue.exe ;; esac
  binaries[$target]=$root/target/$target/release/$exe
fi

pack() { (cd "$out" && npm pack --silent --pack-destination "$out" "$1" | tail -n1); }

# The main package: the launcher, its platform table, and every platform package as an optional
# dependency at exactly this version.
main=$stage/ccrescue
cp -R "$root/npm/ccrescue" "$main"
node -e '
  const fs = require("fs");
  const [dir, version] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(dir + "/package.json"));
  pkg.version = version;
  pkg.optionalDependencies = {};
  for (const p of require(dir + "/platforms.json").platforms) pkg.optionalDependencies[p.package] = version;
  fs.writeFileSync(dir + "/package.json", JSON.stringify(pkg, null, 2) + "\n");' "$main" "$version"
echo "$out/$(pack "$main")"

while read -r p; do
  target=$(field "$p" target)
  bin=${binaries[$target]:-}
  [ -n "$bin" ] || continue
  name=$(field "$p" package)
  dir=$stage/${name#@ccrescue/}
  mkdir -p "$dir/bin"
  cp "$bin" "$dir/bin/$(field "$p" binary)"
  chmod 755 "$dir/bin/$(field "$p" binary)"
  node -e '
    const fs = require("fs");
    const [dir, version, json] = process.argv.slice(1);
    const p = JSON.parse(json);
    const pkg = {
      name: p.package,
      version,
      description: `The ccrescue binary for ${p.os} ${p.cpu} (${p.target}); installed by the ccrescue package.`,
      os: [p.os],
      cpu: [p.cpu],
      ...(p.libc ? { libc: p.libc } : {}),
      files: ["bin/" + p.binary],
      preferUnplugged: true,
    };
    fs.writeFileSync(dir + "/package.json", JSON.stringify(pkg, null, 2) + "\n");
    fs.writeFileSync(dir + "/README.md", `# ${p.package}\n\nThe native \`ccrescue\` binary for ${p.os} ${p.cpu}. Install \`ccrescue\` instead: \`npx ccrescue\` or \`npm i -g ccrescue\`.\n`);' \
    "$dir" "$version" "$p"
  say "packed $name ($target)"
  echo "$out/$(pack "$dir")"
done < <(platforms)

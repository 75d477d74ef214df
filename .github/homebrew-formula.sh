#!/usr/bin/env bash
# Prints the Homebrew formula for a release (the release workflow pushes it to the tap as
# Formula/ccrescue.rb): the prebuilt archives for macOS and Linux, x86_64 and arm64, each with its
# checksum from SHA256SUMS.
#
#   .github/homebrew-formula.sh VERSION RELEASE_DOWNLOAD_URL SHA256SUMS
set -euo pipefail
version=$1 base=$2 sums=$3
sha() {
  local s
  s=$(awk -v f="ccrescue-$1.tar.gz" '$2 == f || $2 == "*" f { print $1 }' "$sums")
  [ -n "$s" ] || { echo "no checksum for ccrescue-$1.tar.gz in $sums" >&2; exit 1; }
  echo "$s"
}
cat <<RUBY
class Ccrescue < Formula
  desc "Gets Claude Code unstuck from \"Usage credits required for 1M context\""
  homepage "${base%/releases/download/*}"
  version "$version"

  on_macos do
    on_arm do
      url "$base/ccrescue-aarch64-apple-darwin.tar.gz"
      sha256 "$(sha aarch64-apple-darwin)"
    end
    on_intel do
      url "$base/ccrescue-x86_64-apple-darwin.tar.gz"
      sha256 "$(sha x86_64-apple-darwin)"
    end
  end

  on_linux do
    on_arm do
      url "$base/ccrescue-aarch64-unknown-linux-musl.tar.gz"
      sha256 "$(sha aarch64-unknown-linux-musl)"
    end
    on_intel do
      url "$base/ccrescue-x86_64-unknown-linux-musl.tar.gz"
      sha256 "$(sha x86_64-unknown-linux-musl)"
    end
  end

  def install
    bin.install "ccrescue"
    generate_completions_from_executable(bin/"ccrescue", "completions")
    (man1/"ccrescue.1").write Utils.safe_popen_read(bin/"ccrescue", "man")
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/ccrescue --version")
  end
end
RUBY

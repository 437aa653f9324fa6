#!/usr/bin/env bash
# git_snapshot.sh SOURCE BARE BRANCH [--check] [--overlay PATH FILE]...
#
# Commits the files of SOURCE as they are on disk (tracked and untracked, minus what .gitignore
# excludes) onto BRANCH of the bare repository BARE, creating it when missing. The sandbox's
# instances pull from BARE, so they run what is in the checkout, uncommitted changes included.
# --overlay commits FILE's content as SOURCE's PATH instead. The user's own repository is only
# read. Prints "changed", or "unchanged" when BRANCH already holds exactly these files; --check
# reports without writing a commit.
set -euo pipefail
src=$1 bare=$2 branch=$3
shift 3
check='' overlays=()
while [ "$#" -gt 0 ]; do
  case $1 in
    --check) check=yes; shift ;;
    --overlay) overlays+=("$2" "$3"); shift 3 ;;
    '') shift ;;
    *) echo "git_snapshot.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [ ! -d "$bare" ]; then
  if [ -n "$check" ]; then echo changed; exit 0; fi
  git init --quiet --bare "$bare"
  git --git-dir="$bare" symbolic-ref HEAD "refs/heads/$branch"
fi
# Never snapshot the sandbox itself, caches, or a virtualenv link (.gitignore's ".venv/" only
# matches a directory).
printf '%s\n' /.sandbox/ /.cache/ /.venv /.ansible/ >"$bare/info/exclude"

# GIT_OPTIONAL_LOCKS=0: describing the checkout must not even refresh its index.
described=$(GIT_OPTIONAL_LOCKS=0 git -C "$src" describe --always --dirty 2>/dev/null || echo "not a git checkout")
index=$(mktemp -d)
trap 'rm -rf "$index"' EXIT
export GIT_DIR=$bare GIT_WORK_TREE=$src GIT_INDEX_FILE=$index/index
git add --all
for ((i = 0; i < ${#overlays[@]}; i += 2)); do
  blob=$(git hash-object -w "${overlays[i + 1]}")
  git update-index --add --cacheinfo "100644,$blob,${overlays[i]}"
done
tree=$(git write-tree)
if [ "$(git rev-parse --quiet --verify "refs/heads/$branch^{tree}" || true)" = "$tree" ]; then
  echo unchanged
  exit 0
fi
if [ -n "$check" ]; then echo changed; exit 0; fi

parent=$(git rev-parse --quiet --verify "refs/heads/$branch" || true)
export GIT_AUTHOR_NAME="spotkit sandbox" GIT_AUTHOR_EMAIL=sandbox@spotkit.invalid
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
commit=$(git commit-tree "$tree" ${parent:+-p "$parent"} -m "Snapshot of $src ($described)")
git update-ref "refs/heads/$branch" "$commit"
echo changed

#!/usr/bin/env bash
# Check the end-to-end test apps in corpus/apps/ against a real Docker engine.
#
# Usage: corpus/apps/check.sh [APP...]        (default: every corpus/apps/*/app.toml)
# Env:   KEEP=1        keep the images (leanify-apps-dev/<app>:legacy|expert|broken-*)
#        NO_BROKEN=1   skip the three broken variants
#        DOCKER_HOST   honoured; if unset, /work/shared/tools/docker-engine.sh is evaluated
#
# For each app it checks that:
#   1. Dockerfile (legacy) and Dockerfile.expert both build (context: <app>/context);
#   2. the image's own command starts (still running, or exited 0, after 4 s), and the smoke command from app.toml exits 0 with identical stdout in both
#      (run with --network none, --entrypoint set to smoke[0]);
#   3. the image Config fields Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Volumes,
#      Labels, Healthcheck, StopSignal are equal, except that the expert PATH may gain a
#      prefix, and a legacy `MAINTAINER x` (image Author) counts as `LABEL maintainer="x"`;
#   4. broken/Dockerfile.missing-lib builds and its smoke fails,
#      broken/Dockerfile.changed-cmd builds and only its Cmd differs,
#      broken/Dockerfile.dropped-file builds and app.toml's `dropped_file` is absent;
# then prints sizes and layer counts. Exit status: number of failed checks (0 = all good).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${DOCKER_HOST:-}" ] && [ -x /work/shared/tools/docker-engine.sh ]; then
  eval "$(/work/shared/tools/docker-engine.sh)"
fi
export DOCKER_BUILDKIT=1

apps=("$@")
if [ ${#apps[@]} -eq 0 ]; then
  for f in "$here"/*/app.toml; do apps+=("$(basename "$(dirname "$f")")"); done
fi

fails=0
summary=()
pass() { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; fails=$((fails + 1)); }

# app.toml field as JSON (python3 >= 3.11 for tomllib)
toml() { python3 -c 'import json,sys,tomllib; d=tomllib.load(open(sys.argv[1],"rb")); print(json.dumps(d.get(sys.argv[2])))' "$1" "$2"; }

build() { # tag dockerfile context
  local log; log=$(mktemp)
  if docker build --network host -q -t "$1" -f "$2" "$3" >"$log" 2>&1; then rm -f "$log"; return 0; fi
  tail -n 25 "$log" | sed 's/^/        /'; rm -f "$log"; return 1
}

smoke() { # image -> prints stdout, returns exit code
  local img=$1; shift
  docker run --rm --network none --entrypoint "$1" "$img" "${@:2}" 2>/dev/null
}

# compare configs; prints differing fields; returns 0 when equivalent
compare_config() { # legacy_img expert_img [ignored_field]
  python3 - "$1" "$2" "${3:-}" <<'PY'
import json, subprocess, sys
def cfg(img):
    d = json.loads(subprocess.check_output(["docker", "image", "inspect", img]))[0]
    c = d["Config"] or {}
    labels = dict(c.get("Labels") or {})
    if d.get("Author"):                      # MAINTAINER x  ==  LABEL maintainer="x"
        labels.setdefault("maintainer", d["Author"])
    env = dict(e.split("=", 1) for e in (c.get("Env") or []))
    return {
        "Entrypoint": c.get("Entrypoint"), "Cmd": c.get("Cmd"), "Env": env,
        "WorkingDir": c.get("WorkingDir") or "", "User": c.get("User") or "",
        "ExposedPorts": sorted((c.get("ExposedPorts") or {})),
        "Volumes": sorted((c.get("Volumes") or {})), "Labels": labels,
        "Healthcheck": c.get("Healthcheck"), "StopSignal": c.get("StopSignal") or "",
    }
a, b, ignored = cfg(sys.argv[1]), cfg(sys.argv[2]), sys.argv[3]
pa, pb = a["Env"].pop("PATH", ""), b["Env"].pop("PATH", "")
bad = []
if not (pb == pa or pb.endswith(":" + pa)):
    bad.append("Env.PATH: %r -> %r (only a prefix may be added)" % (pa, pb))
for k in a:
    if k != ignored and a[k] != b[k]:
        bad.append("%s: %s -> %s" % (k, json.dumps(a[k]), json.dumps(b[k])))
if ignored and a[ignored] == b[ignored]:
    bad.append("%s is unchanged" % ignored)
for line in bad:
    print("        " + line)
sys.exit(1 if bad else 0)
PY
}

# run the image's own Entrypoint/Cmd detached; prints "<status> <exit code>" after a few seconds
# (a server should still be running, a one-shot tool should have exited 0); sets $st and $cid
startup() {
  cid=$(docker run -d --network none "$1")
  sleep "${STARTUP_WAIT:-4}"
  st=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$cid")
}

size() { docker image inspect -f '{{.Size}}' "$1"; }
layers() { docker image inspect -f '{{len .RootFS.Layers}}' "$1"; }

for app in "${apps[@]}"; do
  dir="$here/$app"
  echo "== $app"
  [ -f "$dir/app.toml" ] || { fail "$dir/app.toml missing"; continue; }
  mapfile -t smoke_cmd < <(toml "$dir/app.toml" smoke | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))')
  dropped=$(toml "$dir/app.toml" dropped_file | python3 -c 'import json,sys; print(json.load(sys.stdin) or "")')
  L=leanify-apps-dev/$app:legacy E=leanify-apps-dev/$app:expert
  made=()

  t0=$(date +%s)
  if build "$L" "$dir/Dockerfile" "$dir/context"; then pass "legacy builds ($(( $(date +%s) - t0 ))s)"; made+=("$L")
  else fail "legacy build"; continue; fi
  t0=$(date +%s)
  if build "$E" "$dir/Dockerfile.expert" "$dir/context"; then pass "expert builds ($(( $(date +%s) - t0 ))s)"; made+=("$E")
  else fail "expert build"; docker rmi -f "${made[@]}" >/dev/null 2>&1; continue; fi

  out_l=$(smoke "$L" "${smoke_cmd[@]}"); rc_l=$?
  out_e=$(smoke "$E" "${smoke_cmd[@]}"); rc_e=$?
  if [ $rc_l -eq 0 ] && [ $rc_e -eq 0 ] && [ "$out_l" = "$out_e" ] && [ -n "$out_l" ]; then
    pass "smoke identical, exit 0: $(printf '%s' "$out_l" | head -c 200 | tr '\n' '|')"
  else
    fail "smoke: legacy rc=$rc_l expert rc=$rc_e"
    diff <(printf '%s\n' "$out_l") <(printf '%s\n' "$out_e") | sed 's/^/        /'
  fi

  for img in "$L" "$E"; do
    startup "$img"
    case $st in
      "running 0"|"exited 0") pass "default command ok in ${img##*:} ($st after ${STARTUP_WAIT:-4}s)" ;;
      *) fail "default command in ${img##*:}: $st"; docker logs "$cid" 2>&1 | tail -n 5 | sed 's/^/        /' ;;
    esac
    docker rm -f "$cid" >/dev/null 2>&1
  done

  if compare_config "$L" "$E"; then pass "config equivalent"; else fail "config differs"; fi

  if [ -z "${NO_BROKEN:-}" ]; then
    for v in missing-lib changed-cmd dropped-file; do
      B=leanify-apps-dev/$app:broken-$v
      if ! build "$B" "$dir/broken/Dockerfile.$v" "$dir/context"; then fail "broken/$v does not build"; continue; fi
      made+=("$B")
      case $v in
        missing-lib)
          if smoke "$B" "${smoke_cmd[@]}" >/dev/null; then fail "missing-lib: smoke still passes"
          else pass "missing-lib builds, smoke fails"; fi ;;
        changed-cmd)
          if compare_config "$E" "$B" Cmd >/dev/null; then pass "changed-cmd builds, only Cmd differs ($(docker image inspect -f '{{json .Config.Cmd}}' "$B"))"
          else fail "changed-cmd: expected only Cmd to differ"; compare_config "$E" "$B" Cmd; fi ;;
        dropped-file)
          if [ -z "$dropped" ]; then fail "dropped-file: app.toml has no dropped_file"
          elif ! smoke "$E" test -e "$dropped" >/dev/null; then fail "dropped-file: $dropped absent from expert too"
          elif smoke "$B" test -e "$dropped" >/dev/null; then fail "dropped-file: $dropped still present"
          else pass "dropped-file builds, $dropped absent"; fi ;;
      esac
    done
  fi

  sl=$(size "$L"); se=$(size "$E")
  row=$(printf '%-16s %8.1f MB %8.1f MB %6.1f%%   layers %2d -> %2d' "$app" \
        "$(echo "$sl/1000000" | bc -l)" "$(echo "$se/1000000" | bc -l)" \
        "$(echo "100*($sl-$se)/$sl" | bc -l)" "$(layers "$L")" "$(layers "$E")")
  summary+=("$row")
  [ -z "${KEEP:-}" ] && docker rmi -f "${made[@]}" >/dev/null 2>&1
done

echo
printf '%-16s %11s %11s %7s\n' app legacy expert saved
for r in "${summary[@]}"; do echo "$r"; done
echo "failed checks: $fails"
exit $fails

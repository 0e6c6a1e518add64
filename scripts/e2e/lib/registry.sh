# Sourced by the e2e scripts (not a test itself: test-all.sh runs scripts/e2e/*.sh only).
# free_port: a free TCP port on 127.0.0.1.
# registry_start WORK [ACCESSLOG]: a docker-registry on 127.0.0.1 storing under WORK/registry, its log appended to
#   WORK/registry.log (access log on when ACCESSLOG is "on"); sets reg (host:port) and reg_pid, and returns once
#   /v2/ answers (status 1 if it never does). Called again with the same WORK it restarts the registry on the same
#   port and storage (a test that stops the registry to see reads fail brings it back this way).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

registry_start() {
  local work=$1 access=${2:-off}
  if [[ ! -f "$work/registry.yml" ]]; then
    local port disabled=true
    port="$(free_port)"
    [[ "$access" == on ]] && disabled=false
    cat >"$work/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
log: {level: error, accesslog: {disabled: $disabled}}
YML
    reg="127.0.0.1:$port"
  fi
  docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
  reg_pid=$!
  local _
  for _ in $(seq 1 100); do curl -sf "http://$reg/v2/" >/dev/null && return 0; sleep 0.1; done
  return 1
}

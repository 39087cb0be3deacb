# Sourced by the HTTP benchmarks: nginx on a free loopback port serving a folder, with its state under a work folder.
# nginx_start WORK ROOT: writes WORK/nginx/nginx.conf, starts nginx serving ROOT, sets $port.
# nginx_stop WORK: stops it (safe to call when it is not running).
nginx_start() {
  local work=$1 root=$2
  mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$work/nginx/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $work/nginx/logs/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp; fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
    types { }
    default_type application/octet-stream;
    sendfile on;
    server { listen 127.0.0.1:$port; root $root; }
}
EOF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log"
  sleep 0.3
}

nginx_stop() {
  [ -f "$1/nginx/logs/nginx.pid" ] && kill "$(cat "$1/nginx/logs/nginx.pid")" 2>/dev/null || true
}

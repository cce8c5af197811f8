#!/usr/bin/env bash
# Serve Milestones on the embedded SQLite database with a demo org, printing its credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
mkdir -p var
creds=var/demo-credentials.txt
if [ ! -s "$creds" ]; then
  secret=$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(18))')
  "$bin/milestones" org create --org-id 1 --name "Demo org" --timezone Asia/Kolkata \
    --client-id demo --client-secret "$secret" --if-missing > /dev/null
  printf 'client id:     demo\nclient secret: %s\n' "$secret" > "$creds"
fi
console=var/demo-console.txt
if [ ! -s "$console" ]; then
  password=$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))')
  if printf '%s\n' "$password" | "$bin/milestones" user create --org-id 1 \
    --email admin@demo.example --role ADMIN --password-stdin > /dev/null; then
    printf 'console user:  admin@demo.example (ADMIN)\npassword:      %s\n' "$password" > "$console"
  else
    printf 'console user:  admin@demo.example exists already; its password was in %s\n' \
      "$console" > "$console"
  fi
fi
host=${MILESTONES_HOST:-127.0.0.1}
port=${MILESTONES_PORT:-8000}
echo "Milestones on http://$host:$port  (API docs: http://$host:$port/docs)"
echo "Demo org 1 (Asia/Kolkata):"
sed 's/^/  /' "$creds"
echo "  try: curl -u demo:<secret> http://$host:$port/v3/targetGroups"
echo "Console: http://$host:$port/console"
sed 's/^/  /' "$console"
echo "  more users: .venv/bin/milestones user create --org-id 1 --email E --role ADMIN|MARKETER|SUPPORT"
exec "$bin/milestones" serve --host "$host" --port "$port"

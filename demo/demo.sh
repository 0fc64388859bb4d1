#!/usr/bin/env bash
# The demo of the main job, end to end on embedded defaults (called by ./run.sh demo after setup).
#
# It plays both sides on 127.0.0.1: an OpenSSH sshd as the Responsys SFTP server holding Connect event
# files (made by our own `sample-data` command; one zipped, one PGP-encrypted zip, one with BOM and CRLF,
# one with bad rows, one still being written), and fake-responsys as the REST API. Then it runs the
# events import into SQLite and three exports whose audiences are SQL queries over the imported events
# and a users table (sql/audiences/). Everything it makes lives in .demo/ and staging/; a second run
# imports nothing new and sends no email twice.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build --show-bin-path)"
TOOL="$BIN/responsys-etl"
DEMO="$PWD/.demo"
umask 077
mkdir -p "$DEMO"/{keys,sshd,remote/download,generated,data}

say() { printf '\n==> %s\n' "$*"; }

# The demo's secrets, as a scheduler would pass them: environment variables named in the config.
export RESPONSYS_PASSWORD="demo-api-password"
export PGP_PASSPHRASE="demo pgp passphrase"

cleanup() {
    [ -f "$DEMO/sshd/sshd.pid" ] && kill "$(cat "$DEMO/sshd/sshd.pid")" 2>/dev/null || true
    [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null || true
    [ -n "${GNUPGHOME_SENDER:-}" ] && gpgconf --homedir "$GNUPGHOME_SENDER" --kill gpg-agent 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- Keys: our SSH key, the server's host key, our PGP key (the sender encrypts for it) ------------------
[ -f "$DEMO/keys/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C responsys-etl-demo -f "$DEMO/keys/id_ed25519"
[ -f "$DEMO/sshd/host_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C demo-host -f "$DEMO/sshd/host_ed25519"
cp "$DEMO/keys/id_ed25519.pub" "$DEMO/sshd/authorized_keys"
GNUPGHOME_SENDER="$DEMO/gnupg-sender"
mkdir -p "$GNUPGHOME_SENDER" && chmod 700 "$GNUPGHOME_SENDER"
if [ ! -f "$DEMO/keys/pgp.asc" ]; then
    gpg --homedir "$GNUPGHOME_SENDER" --batch --quiet --pinentry-mode loopback --passphrase "$PGP_PASSPHRASE" \
        --quick-gen-key "ETL demo <etl-demo@example.invalid>" ed25519 sign never 2>>"$DEMO/gpg.log"
    fingerprint=$(gpg --homedir "$GNUPGHOME_SENDER" --with-colons --list-keys etl-demo@example.invalid |
        awk -F: '/^fpr/ {print $10; exit}')
    gpg --homedir "$GNUPGHOME_SENDER" --batch --quiet --pinentry-mode loopback --passphrase "$PGP_PASSPHRASE" \
        --quick-add-key "$fingerprint" cv25519 encr never 2>>"$DEMO/gpg.log"
    gpg --homedir "$GNUPGHOME_SENDER" --batch --quiet --pinentry-mode loopback --passphrase "$PGP_PASSPHRASE" \
        --armor --output "$DEMO/keys/pgp.asc" --export-secret-keys "$fingerprint"
fi

# --- The Responsys side: event files on the SFTP server (made once; a second demo finds them imported) ----
if [ ! -f "$DEMO/generated/.placed" ]; then
    say "making sample data with responsys-etl sample-data"
    "$TOOL" sample-data "$DEMO/generated" --warehouse "$DEMO/data/warehouse.sqlite" | sed 's/^/    /'
    remote="$DEMO/remote/download"
    for file in "$DEMO"/generated/*.txt; do
        name=$(basename "$file")
        case "$name" in
        *_SMS_CLICK_*) cp "$file" "$remote/$name" ;; # still being written: no ready file
        *_OPEN_*)
            python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED); z.write(sys.argv[1], sys.argv[3]); z.close()' \
                "$file" "$remote/$name.zip" "$name"
            touch "$remote/$name.zip.ready"
            ;;
        *_CLICK_*)
            python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED); z.write(sys.argv[1], sys.argv[3]); z.close()' \
                "$file" "$DEMO/generated/$name.zip" "$name"
            gpg --homedir "$GNUPGHOME_SENDER" --batch --quiet --trust-model always \
                --recipient etl-demo@example.invalid --output "$remote/$name.zip.gpg" \
                --encrypt "$DEMO/generated/$name.zip" 2>>"$DEMO/gpg.log"
            touch "$remote/$name.zip.gpg.ready"
            ;;
        *)
            cp "$file" "$remote/$name"
            touch "$remote/$name.ready"
            ;;
        esac
    done
    touch "$DEMO/generated/.placed"
fi

# --- sshd on 127.0.0.1 as the Responsys SFTP server -------------------------------------------------------
mkdir -p /run/sshd 2>/dev/null || true
SSH_PORT=$(free_port)
cat >"$DEMO/sshd/sshd_config" <<CONFIG
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $DEMO/sshd/host_ed25519
PidFile $DEMO/sshd/sshd.pid
AuthorizedKeysFile $DEMO/sshd/authorized_keys
AllowUsers $(id -un)
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONFIG
rm -f "$DEMO/sshd/sshd.pid"
/usr/sbin/sshd -f "$DEMO/sshd/sshd_config" -E "$DEMO/sshd/sshd.log"
for _ in $(seq 50); do [ -s "$DEMO/sshd/sshd.pid" ] && break; sleep 0.1; done
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$DEMO/sshd/host_ed25519.pub")" >"$DEMO/keys/known_hosts"

# --- fake-responsys on 127.0.0.1 as the REST API -----------------------------------------------------------
# The same port as the last demo when it is free: export-users records where it delivered (base_url
# included) and refuses another destination, as it would for a real account.
# (SO_REUSEADDR as fake-responsys itself binds: the last demo's connections may still be in TIME_WAIT.)
port_is_free() {
    python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' \
        "$1" 2>/dev/null
}
api_port_wanted=0
if [ -s "$DEMO/api.port" ] && port_is_free "$(cat "$DEMO/api.port")"; then api_port_wanted=$(cat "$DEMO/api.port"); fi
"$BIN/fake-responsys" --port "$api_port_wanted" --user "demo_api:$RESPONSYS_PASSWORD" --list MASTER_LIST \
    --pet "MASTER_LIST/Lytics_User_Fields:FIRST_NAME,LAST_NAME,CITY" \
    --pet "MASTER_LIST/Lytics_Segments:NEWSLETTER,HIGH_VALUE" \
    --campaign WELCOME:MASTER_LIST --campaign WINBACK:MASTER_LIST \
    --journal "$DEMO/fake-responsys-journal.ndjson" >"$DEMO/fake.port" 2>"$DEMO/fake.log" &
FAKE_PID=$!
for _ in $(seq 100); do [ -s "$DEMO/fake.port" ] && break; sleep 0.1; done
API_PORT=$(head -1 "$DEMO/fake.port")
if [ -s "$DEMO/api.port" ] && [ "$(cat "$DEMO/api.port")" != "$API_PORT" ]; then
    # The last demo's port is taken: the demo's Responsys moved, so its destination record goes with it.
    echo "  (port $(cat "$DEMO/api.port") of the last demo is taken; fake-responsys moved to $API_PORT)"
    rm -f "$PWD/staging/newsletter/state/destination.json"
fi
echo "$API_PORT" >"$DEMO/api.port"

# --- The config a user would write (paths relative to this file) ----------------------------------------
cat >"$DEMO/responsys-etl.toml" <<CONFIG
[staging]
dir = "../staging"

[auth.interact]
type = "interact"
username = "demo_api"
password_env = "RESPONSYS_PASSWORD"
base_url = "http://127.0.0.1:$API_PORT"

[auth.files]
type = "sftp"
host = "127.0.0.1"
port = $SSH_PORT
username = "$(id -un)"
private_key_file = "keys/id_ed25519"
known_hosts_file = "keys/known_hosts"
pgp_private_key_file = "keys/pgp.asc"
pgp_passphrase_env = "PGP_PASSPHRASE"

[workflows.events]
type = "import-events"
auth = "files"
remote_dir = "$DEMO/remote/download"
pattern = "*.txt*"
ready_suffix = ".ready"
sink = { type = "sqlite", path = "data/warehouse.sqlite" }

[workflows.newsletter]
type = "export-users"
auth = "interact"
list = "MASTER_LIST"
source = { type = "sqlite", path = "data/warehouse.sqlite", query_file = "../sql/audiences/newsletter.sql" }
existing_users = true
additional_fields = ["first_name", "last_name", "city"]
audience_memberships = ["newsletter", "high_value"]
default_permission_status = "OPTIN"

[workflows.welcome]
type = "export-campaign"
auth = "interact"
campaign = "WELCOME"
list = "MASTER_LIST"
source = { type = "sqlite", path = "data/warehouse.sqlite", query_file = "../sql/audiences/new_signups.sql" }
additional_fields = ["first_name"]
back_fill = true
default_permission_status = "OPTIN"

[workflows.winback]
type = "export-campaign"
auth = "interact"
campaign = "WINBACK"
list = "MASTER_LIST"
source = { type = "sqlite", path = "data/warehouse.sqlite", query_file = "../sql/audiences/recent_clickers.sql" }
additional_fields = ["first_name"]
back_fill = true
time_based = true
default_permission_status = "OPTIN"
CONFIG

# --- The runs ----------------------------------------------------------------------------------------------
declare -A STATUS
FAILED=0
for workflow in events newsletter welcome winback; do
    say "responsys-etl run $workflow"
    set +e
    "$TOOL" --config "$DEMO/responsys-etl.toml" run "$workflow" 2>"$DEMO/$workflow.log" | sed 's/^/    /'
    STATUS[$workflow]=${PIPESTATUS[0]}
    set -e
    echo "    exit status ${STATUS[$workflow]} (log: .demo/$workflow.log)"
    case "${STATUS[$workflow]}" in
    0) ;;
    3) echo "    (3 = finished with rejected records: see the run's rejects.ndjson)" ;;
    *)
        echo "    FAILED:"
        grep -E 'error:|what to do:' "$DEMO/$workflow.log" | tail -3 | sed 's/^/      /'
        FAILED=1
        ;;
    esac
done

# --- Summary -----------------------------------------------------------------------------------------------
say "summary"
python3 - "$DEMO" "$API_PORT" <<'PY'
import json, sqlite3, sys, urllib.request, glob, os
demo, port = sys.argv[1], sys.argv[2]
db = sqlite3.connect(os.path.join(demo, "data/warehouse.sqlite"))
total = db.execute("SELECT count(*) FROM responsys_events").fetchone()[0]
by_type = db.execute("SELECT event_type, count(*) FROM responsys_events GROUP BY 1 ORDER BY 1").fetchall()
ledger_path = os.path.join(demo, "../staging/events/state/ledger.json")
ledger = json.load(open(ledger_path)) if os.path.exists(ledger_path) else []
print(f"  remote files imported (ledger): {len(ledger)}")
print(f"  events in SQLite:               {total}  ({', '.join(f'{t} {n}' for t, n in by_type)})")
rejects = 0
for path in glob.glob(os.path.join(demo, "../staging/events/runs/*/transform/rejects.ndjson")):
    rejects += sum(1 for line in open(path) if line.strip())
print(f"  rejected rows (all runs):       {rejects}")
state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/_fake/state"))
members = sum(len(m) for m in state.get("lists", {}).values())
pets = {k: len(v) for k, v in state.get("pets", {}).items()}
emails = state.get("emails", [])
print(f"  list members at Responsys:      {members} (this server session)")
print(f"  PET rows:                       {pets}")
by_campaign = {}
for email in emails:
    by_campaign[email["campaign"]] = by_campaign.get(email["campaign"], 0) + 1
print(f"  emails triggered this session:  {len(emails)} {by_campaign}")
PY
cat <<TEXT

  Where to look:
    staging/<workflow>/runs/<run-id>/run.json        each stage's state, counts, timings
    staging/events/runs/<run-id>/transform/          the NDJSON events and rejects.ndjson
    staging/newsletter/runs/<run-id>/transform/      the exact request bodies sent to Responsys
    staging/<workflow>/state/                        the ledger and the last delivered audience
    $TOOL --config .demo/responsys-etl.toml status
  Run ./run.sh demo again: nothing new is imported and no email is sent twice.
TEXT
exit "$FAILED"

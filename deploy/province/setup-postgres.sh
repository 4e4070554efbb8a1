#!/usr/bin/env bash
# Creates the hangdoi role and database in PostgreSQL, once: running it again changes nothing
# (the password only changes when one is given explicitly).
# Tạo vai trò (role) và cơ sở dữ liệu cho hangdoi; chạy lại nhiều lần cũng không sao.
#
#   sudo bash setup-postgres.sh                       # role hangdoi, database hangdoi, new password
#   sudo HANGDOI_DB_PASSWORD=… bash setup-postgres.sh # set (or reset) the password
#   HANGDOI_DB_NAME=hangdoi_tinh HANGDOI_DB_USER=hangdoi_tinh sudo -E bash setup-postgres.sh
#
# It connects as the postgres superuser: as root, through Debian's local socket (runuser -u
# postgres psql); otherwise with the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD),
# e.g. for a database server on another machine.
# It prints the HANGDOI_DATABASE_URL line for /etc/hangdoi/hangdoi.env.
set -euo pipefail

DB_NAME="${HANGDOI_DB_NAME:-hangdoi}"
DB_USER="${HANGDOI_DB_USER:-hangdoi}"
# Where the servers will connect to (only used for the printed URL).
DB_HOST="${HANGDOI_DB_HOST:-127.0.0.1}"
DB_PORT="${HANGDOI_DB_PORT:-5432}"
PASSWORD="${HANGDOI_DB_PASSWORD:-}"

say() { printf 'setup-postgres: %s\n' "$*" >&2; }

# Percent-encodes a password for the URL: only letters, digits and -._~ stay as they are.
urlencode() {
    local LC_ALL=C text="$1" out="" char i
    for ((i = 0; i < ${#text}; i++)); do
        char="${text:i:1}"
        case "$char" in
            [A-Za-z0-9._~-]) out+="$char" ;;
            *) out+="$(printf '%%%02X' "'$char")" ;;
        esac
    done
    printf '%s' "$out"
}

# Names go into SQL as identifiers and into the URL as they are: keep them plain.
for name in "$DB_NAME" "$DB_USER"; do
    if ! [[ "$name" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
        say "tên không hợp lệ / invalid name: '$name' (a-z, 0-9, _)"; exit 2
    fi
done

psql_admin() {
    if [ "$(id -u)" -eq 0 ] && [ -z "${PGHOST:-}" ]; then
        runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
    else
        psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
    fi
}

role_exists="$(psql_admin -tA -v role="$DB_USER" <<'SQL'
SELECT count(*) FROM pg_roles WHERE rolname = :'role';
SQL
)"

set_password=no
if [ "$role_exists" = "0" ]; then
    if [ -z "$PASSWORD" ]; then
        # 32 hex characters: nothing in it needs escaping in a URL or the env file.
        PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    fi
    set_password=yes
    say "tạo vai trò / creating role $DB_USER"
elif [ -n "$PASSWORD" ]; then
    set_password=yes
    say "vai trò $DB_USER đã có: đặt lại mật khẩu / role exists: resetting its password"
else
    say "vai trò $DB_USER đã có: giữ nguyên mật khẩu / role exists: password unchanged"
fi

# The password reaches psql on its standard input, never on a command line that `ps` shows:
# a psql \set line, with backslashes and quotes escaped for psql's single-quoted argument.
escaped="${PASSWORD//\\/\\\\}"
escaped="${escaped//\'/\\\'}"
# format(%I, %L) quotes the names and the password for SQL; \gexec runs a statement only when needed.
{ printf "\\set password '%s'\n" "$escaped"; cat <<'SQL'; } | psql_admin -v role="$DB_USER" -v db="$DB_NAME" -v set_password="$set_password"
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE :'set_password' = 'yes' \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'role', 'UTF8')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
-- Only the owner and superusers may connect; the servers need nothing more than owning it.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
SQL

say "cơ sở dữ liệu $DB_NAME (chủ sở hữu $DB_USER) đã sẵn sàng / database ready"
if [ "$set_password" = "yes" ]; then
    say "ghi dòng sau vào /etc/hangdoi/hangdoi.env / put this line in /etc/hangdoi/hangdoi.env:"
    printf 'HANGDOI_DATABASE_URL=postgresql+psycopg://%s:%s@%s:%s/%s\n' "$DB_USER" "$(urlencode "$PASSWORD")" "$DB_HOST" "$DB_PORT" "$DB_NAME"
else
    printf 'HANGDOI_DATABASE_URL=postgresql+psycopg://%s:<mật khẩu cũ / existing password>@%s:%s/%s\n' \
        "$DB_USER" "$DB_HOST" "$DB_PORT" "$DB_NAME"
fi

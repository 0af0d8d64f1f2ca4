-- One service's database and its two roles; psql variables: db, owner, app, owner_password,
-- app_password. Run by init-roles.sh at the first start of the compose PostgreSQL, or by hand
-- for an existing server (deploy/README.md, "Database roles"), as a superuser:
--   psql -v ON_ERROR_STOP=1 -v db=audit -v owner=audit_owner -v app=audit_app \
--        -v owner_password="$OWNER_PASSWORD" -v app_password="$APP_PASSWORD" -f roles.sql
-- The owner migrates and purges; the service runs as the app role, which gets its table
-- privileges after each migration (python -m tooling.database_roles migrate).
\set ON_ERROR_STOP on

CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"owner";

-- Nobody else may connect: each service reaches its own database only.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";

\connect :"db"
-- The public schema belongs to the database owner (PostgreSQL 15 and later); the app role
-- may use it but never create in it, so every table has the owner as its owner.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";

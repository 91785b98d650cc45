-- Roles an organization's administrators define from the permission list. A user holds one
-- through user_roles with the role's code (custom:<id>), next to the default roles.

CREATE TABLE custom_roles (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX custom_roles_code ON custom_roles (code);
CREATE UNIQUE INDEX custom_roles_name ON custom_roles (org_id, name);

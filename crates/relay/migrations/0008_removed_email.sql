-- A removed member's email is set aside so that the address can be invited again (or register
-- a workspace of its own): `users.email` is unique, and the removed row stays for attribution.
-- The row keeps the address in `removed_email` (the members list still shows it) and holds a
-- placeholder that no sign-in can match in `email`.
ALTER TABLE users ADD COLUMN removed_email TEXT;
UPDATE users SET removed_email = email, email = 'removed:' || id WHERE removed_at IS NOT NULL;

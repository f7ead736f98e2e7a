-- Broadcasts of templates with a media or location header, and with buttons that take a value.
--
-- The header every recipient gets, as the Cloud API's parameter object (an uploaded file's
-- Meta id, a link, or a place); NULL for a text header or none.
ALTER TABLE broadcasts ADD COLUMN header_media_json TEXT;
-- The values of the template's buttons that take one (the end of a dynamic URL, a coupon
-- code), in the buttons' order, per recipient: a CSV column may give each their own code.
ALTER TABLE broadcast_recipients ADD COLUMN button_params_json TEXT NOT NULL DEFAULT '[]';

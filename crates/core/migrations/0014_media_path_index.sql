-- Several media rows may name one file (a broadcast's header, downloaded once on the team's
-- other devices): a file is removed only once no row names it, which looks rows up by path.
CREATE INDEX media_path ON media(path) WHERE path IS NOT NULL;

-- Calendar feeds (SPEC §9): each person's secret feed address, made on first use and
-- replaced by `mentord feed reset PERSON`. `token` is what the address carries (printed
-- and linked); a request is looked up by `token_hash` (SHA-256, hex), so the lookup's
-- timing says nothing about any token.
CREATE TABLE feeds (
    person     TEXT PRIMARY KEY,             -- the person's id in the program file
    token      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL               -- unix seconds
);

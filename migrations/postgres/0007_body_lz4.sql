-- Bodies are compressed with LZ4 where the server has it (PostgreSQL 14 and later,
-- built with lz4, as Debian's and the official images are): pglz, the default, cost the
-- server more CPU than anything else while a first start queued 100,000 invites. Only
-- new bodies change; a server without LZ4 keeps pglz.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE messages ALTER COLUMN body SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
    RAISE NOTICE 'mentord: bodies keep the default compression (%)', SQLERRM;
END
$$;

-- Foundation: the extensions, the UUIDv7 generator and the shared updated_at trigger
-- function that every later migration builds on.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, 12 random bits, the variant,
-- then 62 random bits. Time-ordered, so new rows land at the right edge of the primary-key
-- B-tree instead of at random pages.
CREATE FUNCTION uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
  SELECT encode(
    set_bit(
      set_bit(
        overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                FROM 1 FOR 6),
        52, 1),
      53, 1),
    'hex')::uuid
$$;

COMMENT ON FUNCTION uuid_generate_v7() IS
  'Time-ordered UUID (version 7, RFC 9562): the default of every id column.';

-- One trigger function keeps every mutable table's updated_at current.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

COMMENT ON FUNCTION set_updated_at() IS
  'BEFORE UPDATE trigger: sets updated_at to the transaction time.';

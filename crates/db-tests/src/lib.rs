//! Integration tests of crmdb against a real PostgreSQL server; the tests live in `tests/db/`.

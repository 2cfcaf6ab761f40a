//! Statements prepared once per connection and kept by their text.
//! Parsing and planning the SQL cost more than running most of the
//! catalog's queries (a third of a STATUS), so every statement that runs
//! more than once goes through a connection's statement cache.

use rusqlite::{Connection, Params, Row};

/// Statements a connection keeps prepared: more than the catalog's
/// distinct queries, so none is parsed twice.
pub(super) const CACHED_STATEMENTS: usize = 256;

/// `query_row` and `execute` through the connection's statement cache.
pub(super) trait CachedSql {
    /// The first row of a query, as `Connection::query_row`.
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>;

    /// Runs a statement, as `Connection::execute`: the rows changed.
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl CachedSql for Connection {
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

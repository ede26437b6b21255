//! The scratch PostgreSQL databases of the postgres variant: each instance gets a fresh one,
//! dropped again when the test ends, whether it passes or fails.

use diesel::prelude::*;

/// The PostgreSQL server, as the end-to-end tests find it.
fn postgres_base() -> String {
    std::env::var("CAIRN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh PostgreSQL database, dropped with this value even when the test fails.
pub(crate) struct PgDatabase {
    name: String,
}

impl PgDatabase {
    pub(crate) fn create() -> Self {
        let name = format!("cairn_crash_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&format!("{}/postgres", postgres_base()))
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the postgres variant ({}): {e}",
                    postgres_base()
                )
            });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
        Self { name }
    }

    pub(crate) fn url(&self) -> String {
        format!("{}/{}", postgres_base(), self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // FORCE ends the sessions of the observer pool, which may still be open.
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", postgres_base())) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

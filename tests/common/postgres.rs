//! A fresh PostgreSQL database per test, at `PORTHOLE_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432`); dropped when the test
//! ends. PostgreSQL must be running (`.ci/run` starts it): a test that
//! needs it fails, it does not skip.

use sqlx::{Connection, PgConnection};

pub fn server_url() -> String {
    std::env::var("PORTHOLE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

pub struct Database {
    name: String,
    url: String,
}

impl Database {
    pub async fn create() -> Self {
        let name = format!("porthole_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {} is needed for this test: {e}",
                    server_url()
                )
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        Database {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Dropped from a test's runtime or after it: a thread of its own.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut admin) =
                    PgConnection::connect(&format!("{}/postgres", server_url())).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

//! The store contracts against MongoDB (`ORDERFLOW_TEST_MONGO_URL`), one database per test.

use orderflow_adapter_mongo::{MongoSettings, MongoStore};
use orderflow_core::ports::{SessionRepo, UserRepo};
use orderflow_testkit::contracts::store::Store;
use orderflow_testkit::services::{mongo_url, unique};
use std::sync::Arc;
use std::time::Duration;

async fn mongo() -> Option<MongoStore> {
    let uri = mongo_url().await?;
    let settings = MongoSettings {
        uri,
        database: unique("orderflow-test").replace('-', "_"),
        server_selection_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(30),
        transaction_timeout: Duration::from_secs(90),
    };
    Some(
        MongoStore::connect(&settings)
            .await
            .expect("connect to the test MongoDB"),
    )
}

async fn users() -> Option<Arc<dyn UserRepo>> {
    Some(Arc::new(mongo().await?))
}
async fn sessions() -> Option<Arc<dyn SessionRepo>> {
    Some(Arc::new(mongo().await?))
}
async fn store() -> Option<Store> {
    let m = mongo().await?;
    Some(Store {
        orders: Arc::new(m.clone()),
        inventory: Arc::new(m),
    })
}

orderflow_testkit::user_repo_contract!(users());
orderflow_testkit::session_repo_contract!(sessions());
orderflow_testkit::store_contract!(store());

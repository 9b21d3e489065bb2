//! Start-up data: the configured admin and, in the embedded profile, a demo catalog.

use crate::config::BootstrapConfig;
use crate::wiring::Services;
use anyhow::Context;
use orderflow_core::domain::{Email, Password};
use orderflow_core::usecases::{CatalogError, NewProduct};

pub const DEMO_CATALOG: &[(&str, &str, i64, i64)] = &[
    ("SKU-KEYBOARD", "Mechanical keyboard", 8900, 50),
    ("SKU-MOUSE", "Wireless mouse", 2900, 100),
    ("SKU-MONITOR", "27-inch monitor", 24900, 20),
    ("SKU-CABLE", "USB-C cable", 990, 500),
    ("SKU-HEADSET", "Noise-cancelling headset", 15900, 30),
    ("SKU-LAST-ONE", "Limited edition mug (one left)", 1500, 1),
];

pub async fn bootstrap(services: &Services, c: &BootstrapConfig) -> anyhow::Result<()> {
    if let (Some(email), Some(password)) = (&c.admin_email, &c.admin_password) {
        let email = Email::parse(email).context("bootstrap.admin_email")?;
        let password =
            Password::parse(password.expose().to_owned()).context("bootstrap.admin_password")?;
        if services
            .auth
            .ensure_admin(email.clone(), &password)
            .await
            .context("creating the bootstrap admin")?
        {
            tracing::info!(%email, "bootstrap admin created");
        }
    }
    if c.demo_catalog {
        for (sku, name, price, stock) in DEMO_CATALOG {
            let p = NewProduct {
                sku: (*sku).into(),
                name: (*name).into(),
                price_cents: *price,
                currency: None,
                stock: *stock,
            };
            match services.catalog.create(p).await {
                Ok(_) | Err(CatalogError::SkuTaken) => {}
                Err(e) => return Err(anyhow::Error::new(e).context("loading the demo catalog")),
            }
        }
    }
    Ok(())
}

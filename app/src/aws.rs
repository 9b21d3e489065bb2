//! The one AWS SDK configuration shared by SQS and SES: region, optional endpoint
//! (moto, LocalStack), optional static credentials for local use, otherwise the
//! default credential chain (environment, profile, IMDS, ECS/IRSA).

use crate::config::AwsConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub async fn sdk_config(c: &AwsConfig) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(c.region.clone()));
    if let Some(endpoint) = c.endpoint_url.as_deref().filter(|e| !e.is_empty()) {
        loader = loader.endpoint_url(endpoint);
    }
    if let (Some(id), Some(secret)) = (&c.access_key_id, &c.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            id,
            secret.expose(),
            None,
            None,
            "orderflow-config",
        ));
    }
    loader.load().await
}

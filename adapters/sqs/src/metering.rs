//! Every request the SDK sends to SQS, counted by an interceptor: one per attempt,
//! so the SDK's own retries are counted as SQS bills them.

use aws_sdk_sqs::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use orderflow_core::ports::CallMeter;
use std::sync::Arc;

pub(crate) struct RequestCounter(pub(crate) Arc<dyn CallMeter>);

impl std::fmt::Debug for RequestCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestCounter")
    }
}

fn action(cfg: &ConfigBag) -> &str {
    cfg.load::<Metadata>().map_or("unknown", Metadata::name)
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "orderflow request counter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.queue_request(action(cfg));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if matches!(context.output_or_error(), Some(Err(_))) {
            self.0.queue_failure(action(cfg));
        }
        Ok(())
    }
}

//! Builds adapters from configuration (`adapters.rs`) and use cases from adapters
//! (`services.rs`). The only place that knows which technology backs which port.

mod adapters;
mod services;

pub use adapters::*;
pub use services::*;

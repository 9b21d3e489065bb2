//! [`HttpSender`]: webhook deliveries over HTTP(S).
//!
//! Every name is resolved by [`GuardedResolver`], which drops addresses that are not
//! globally reachable (unless private networks are allowed) from what the connection
//! may use, so a name cannot pass a check and then
//! point somewhere else; literal addresses in the URL are checked before sending.

mod resolver;
mod sender;

pub use resolver::{GuardedResolver, NameLookup, SystemLookup};
pub use sender::{HttpSender, HttpSenderSettings, MAX_ANSWER_BYTES};
